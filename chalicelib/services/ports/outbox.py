"""The outbox after an email was queued, and the mail provider."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.domain.mail import Attachment, OutgoingEmail, RenderedEmail


class OutboxStore(Protocol):
    def due_emails(self, now: datetime, limit: int) -> list[OutgoingEmail]: ...

    def claim_email(self, email: OutgoingEmail, lease_until: datetime) -> OutgoingEmail | None: ...

    def mark_sent(self, email: OutgoingEmail, provider_id: str, now: datetime) -> bool: ...

    def mark_failed(self, email: OutgoingEmail, error: str, retry_at: datetime) -> None: ...


class Mailer(Protocol):
    def send(self, email: RenderedEmail) -> str:
        """Returns the provider's message id; raises MailDeliveryFailed."""


class EmailRenderer(Protocol):
    def render(self, email: OutgoingEmail) -> RenderedEmail: ...


class AttachmentSource(Protocol):
    def attachments_for(self, email: OutgoingEmail) -> tuple[Attachment, ...]:
        """What travels with the email (the invoice PDF of `invoice_issued`); raises to have the email retried."""
