"""Emails as the outbox holds them (what to render, for whom) and as the mailer sends them (rendered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.outbox import EMAIL_CHANNEL, OutboxMessage


class OutgoingEmail(OutboxMessage):
    """An outbox message on the email channel: what to render (its kind), for whom, in which language. Its payload is
    `to`, `locale`, `country` and the template's `params`; this class only builds and reads that payload by name."""

    def __init__(
        self,
        mail_id: str,
        kind: str,
        to: str,
        locale: str,
        country: str,
        params: dict[str, Any],
        due_at: datetime,
        attempts: int = 0,
    ) -> None:
        payload = {"to": to, "locale": locale, "country": country, "params": params}
        super().__init__(mail_id, EMAIL_CHANNEL, kind, payload, due_at, attempts)

    @property
    def mail_id(self) -> str:
        return self.message_id

    @property
    def to(self) -> str:
        return str(self.payload["to"])

    @property
    def locale(self) -> str:
        return str(self.payload["locale"])

    @property
    def country(self) -> str:
        return str(self.payload["country"])

    @property
    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = self.payload["params"]
        return params

    @classmethod
    def from_message(cls, message: OutboxMessage) -> OutgoingEmail:
        """The email a message on the email channel is (as the outbox item codec reads it back)."""
        if isinstance(message, OutgoingEmail):
            return message
        if message.channel != EMAIL_CHANNEL:
            raise ValueError(f"outbox message {message.message_id} is for channel {message.channel}, not email")
        payload = message.payload
        return cls(
            message.message_id, message.kind, payload["to"], payload["locale"], payload["country"],
            payload["params"], message.due_at, message.attempts,
        )  # fmt: skip


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
