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
    attachments: tuple[Attachment, ...] = ()


class MailDeliveryFailed(Exception):
    """The mail provider did not accept a message; the outbox keeps it for a retry."""
