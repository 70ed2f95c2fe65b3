"""SES bounce and complaint notifications (configuration set event publishing to SNS, or identity notifications) ->
MailNotice. The email's own tags, set when it was sent (`services/email_channel.mail_tags`), say which subscription it
belongs to."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalicelib.domain.mail import BOUNCE, COMPLAINT, MailNotice
from chalicelib.domain.models import parse_utc

MAX_DETAIL = 300


class NotAMailNotice(ValueError):
    """A message on the topic that is not a bounce or complaint notification."""


def parse_notice(message: str, fallback_id: str) -> MailNotice:
    try:
        body = json.loads(message)
    except ValueError:
        raise NotAMailNotice("the message is not JSON") from None
    if not isinstance(body, dict):
        raise NotAMailNotice("the message is not a JSON object")
    kind = str(body.get("eventType") or body.get("notificationType") or "").lower()
    if kind not in (BOUNCE, COMPLAINT):
        raise NotAMailNotice(f"event type {kind or 'missing'} is neither a bounce nor a complaint")
    report: dict[str, Any] = body.get(kind) or {}
    mail: dict[str, Any] = body.get("mail") or {}
    tags = mail.get("tags") or {}
    recipients_key = "bouncedRecipients" if kind == BOUNCE else "complainedRecipients"
    recipients = tuple(str(r.get("emailAddress", "")) for r in report.get(recipients_key) or [] if isinstance(r, dict))
    if kind == BOUNCE:
        details = {
            "bounce_type": report.get("bounceType"),
            "bounce_subtype": report.get("bounceSubType"),
            "diagnostic": next(
                (r.get("diagnosticCode") for r in report.get("bouncedRecipients") or [] if r.get("diagnosticCode")),
                None,
            ),
        }
    else:
        details = {"feedback_type": report.get("complaintFeedbackType")}
    reported = report.get("timestamp") or mail.get("timestamp")
    return MailNotice(
        kind=kind,
        notice_id=str(report.get("feedbackId") or fallback_id),
        reported_at=_moment(reported),
        subscription_id=_tag(tags, "subscription_id"),
        mail_id=_tag(tags, "mail_id"),
        mail_kind=_tag(tags, "mail_kind"),
        recipients=recipients,
        details={k: str(v)[:MAX_DETAIL] for k, v in details.items() if v},
    )


def _tag(tags: Any, name: str) -> str | None:
    values = tags.get(name) if isinstance(tags, dict) else None
    return str(values[0]) if isinstance(values, list) and values else None


def _moment(value: Any) -> datetime | None:
    try:
        return parse_utc(value) if isinstance(value, str) else None
    except ValueError:
        return None
