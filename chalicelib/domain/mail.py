"""Emails as the outbox holds them (what to render, for whom) and as the mailer sends them (rendered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.outbox import EMAIL_CHANNEL, OutboxMessage


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

    def as_message(self) -> OutboxMessage:
        return OutboxMessage(
            message_id=self.mail_id,
            channel=EMAIL_CHANNEL,
            kind=self.kind,
            payload={"to": self.to, "locale": self.locale, "country": self.country, "params": self.params},
            due_at=self.due_at,
            attempts=self.attempts,
        )

    @classmethod
    def from_message(cls, message: OutboxMessage) -> OutgoingEmail:
        if message.channel != EMAIL_CHANNEL:
            raise ValueError(f"outbox message {message.message_id} is for channel {message.channel}, not email")
        payload = message.payload
        return cls(
            mail_id=message.message_id,
            kind=message.kind,
            to=payload["to"],
            locale=payload["locale"],
            country=payload["country"],
            params=payload["params"],
            due_at=message.due_at,
            attempts=message.attempts,
        )


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
