"""The outbox's email channel: renders a queued email, tags it for SES and attaches what its kind needs."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from chalicelib import metrics
from chalicelib.domain.mail import OutgoingEmail, RenderedEmail
from chalicelib.domain.outbox import OutboxMessage
from chalicelib.services.ports.outbox import AttachmentSource, ChannelPolicy, EmailRenderer, Mailer

log = logging.getLogger("chalicelib.services.outbox")  # the logger email delivery always logged under

EMAIL_POLICY = ChannelPolicy(
    noun="email",
    sent_metric=metrics.EMAILS_SENT,
    failed_metric=metrics.EMAILS_FAILED,
    retried_metric=metrics.EMAILS_RETRIED,
)


class EmailChannel:
    def __init__(
        self,
        mailer: Mailer,
        renderer: EmailRenderer,
        attachments: Mapping[str, AttachmentSource] | None = None,
    ) -> None:
        self._mailer = mailer
        self._renderer = renderer
        self._attachments = dict(attachments or {})  # by email kind: invoice_issued -> the invoice PDF

    @property
    def policy(self) -> ChannelPolicy:
        return EMAIL_POLICY

    def dispatch(self, message: OutboxMessage) -> str:
        return self._mailer.send(self.render(OutgoingEmail.from_message(message)))

    def log_keys(self, message: OutboxMessage) -> dict[str, str]:
        return log_keys(OutgoingEmail.from_message(message))

    def render(self, email: OutgoingEmail) -> RenderedEmail:
        """The email as sent: its SES tags, and its attachments (a failure to produce one, such as an invoice PDF that
        could not be rendered or stored, is retried like a failed send)."""
        rendered = dataclasses.replace(self._renderer.render(email), tags=mail_tags(email))
        source = self._attachments.get(email.kind)
        try:
            extra = source.attachments_for(email) if source is not None else ()
        except Exception:
            # An invoice whose PDF cannot be produced: the email stays in the outbox and is retried with backoff
            # (other emails still go); logged as an error naming the invoice so support can act on it
            log.exception(
                "attachment of email %s (%s, invoice %s) could not be produced; the email waits in the outbox",
                email.mail_id,
                email.kind,
                email.params.get("invoice_number"),
                extra=log_keys(email),
            )
            raise
        return dataclasses.replace(rendered, attachments=rendered.attachments + tuple(extra)) if extra else rendered


MAIL_ID_TAG = "mail_id"
SUBSCRIPTION_ID_TAG = "subscription_id"
_TAG_VALUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@")


def mail_tags(email: OutgoingEmail) -> tuple[tuple[str, str], ...]:
    """SES message tags (values of letters, digits, _ - . @ only): where a bounce or complaint notice belongs."""
    tags = [(MAIL_ID_TAG, email.mail_id), ("mail_kind", email.kind)]
    subscription_id = email.params.get("subscription_id")
    if isinstance(subscription_id, str):
        tags.append((SUBSCRIPTION_ID_TAG, subscription_id))
    return tuple((name, value) for name, value in tags if value and set(value) <= _TAG_VALUE and len(value) <= 256)


def log_keys(email: OutgoingEmail) -> dict[str, str]:
    """The ids a support person searches the logs by; never the address, the token id or any other parameter."""
    keys = {"mail_id": email.mail_id, "mail_kind": email.kind}
    for name in ("subscription_id", "order_id", "invoice_number"):
        value = email.params.get(name)
        if isinstance(value, str):
            keys[name] = value
    return keys
