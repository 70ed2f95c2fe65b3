"""Emails as the outbox holds them (what to render, for whom) and as the mailer sends them (rendered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class OutgoingEmail:
    """An email waiting in the outbox: what to render, for whom, in which language."""

    mail_id: str
    kind: str
    to: str
    locale: str
    country: str
    params: dict[str, Any]
    due_at: datetime
    attempts: int = 0


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/pdf"
    data: bytes


@dataclass(frozen=True)
class RenderedEmail:
    to: str
    subject: str
    text: str
    html: str
    # Sent along as SES message tags and returned in bounce and complaint notifications: which outbox entry and
    # subscription the email belongs to (ids only: SES keeps tags in its event data).
    tags: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()


class MailDeliveryFailed(Exception):
    """The mail provider did not accept a message; the outbox keeps it for a retry."""


@dataclass(frozen=True)
class MailNotice:
    """The mail provider's report that an email bounced or drew a complaint."""

    kind: str  # BOUNCE | COMPLAINT
    notice_id: str  # the provider's feedback id: the same notice delivered twice is recorded once
    reported_at: datetime | None
    subscription_id: str | None  # from the email's tags; None for an email the portal did not tag
    mail_id: str | None
    mail_kind: str | None
    recipients: tuple[str, ...]
    details: dict[str, str]  # bounce type and subtype, diagnostic, or the complaint's feedback type


BOUNCE = "bounce"
COMPLAINT = "complaint"
