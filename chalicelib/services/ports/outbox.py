"""The outbox after a message was queued, the channels that deliver its messages, and the mail provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain.mail import Attachment, OutgoingEmail, RenderedEmail
from chalicelib.domain.outbox import OutboxMessage


class OutboxStore(Protocol):
    def due_messages(self, now: datetime, limit: int) -> list[OutboxMessage]: ...

    def claim(self, message: OutboxMessage, lease_until: datetime) -> OutboxMessage | None: ...

    def mark_sent(self, message: OutboxMessage, provider_id: str, now: datetime) -> bool: ...

    def mark_failed(self, message: OutboxMessage, error: str, retry_at: datetime) -> None: ...


@dataclass(frozen=True)
class ChannelPolicy:
    """How the outbox retries a channel's messages and what it counts them as."""

    noun: str  # how the logs name one message ("email")
    sent_metric: str
    failed_metric: str
    retried_metric: str
    lease: timedelta = timedelta(minutes=5)
    first_backoff: timedelta = timedelta(minutes=1)  # doubled on each attempt: 2, 4, 8... minutes by default
    max_backoff: timedelta = timedelta(hours=1)

    def backoff(self, attempts: int) -> timedelta:
        """The wait before the next try after `attempts` failed ones."""
        return min(self.first_backoff * (1 << min(attempts, 30)), self.max_backoff)  # 30: no overflow, far past any cap


class ChannelDispatcher(Protocol):
    """Delivers the messages of one outbox channel (registered by its name in the container)."""

    @property
    def policy(self) -> ChannelPolicy: ...

    def dispatch(self, message: OutboxMessage) -> str:
        """Returns the provider's id of the delivered message; raises to have the message retried with backoff."""

    def log_keys(self, message: OutboxMessage) -> dict[str, str]:
        """The ids a support person searches the logs by: never an address, a token or a payment detail."""


class Mailer(Protocol):
    def send(self, email: RenderedEmail) -> str:
        """Returns the provider's message id; raises MailDeliveryFailed."""


class EmailRenderer(Protocol):
    def render(self, email: OutgoingEmail) -> RenderedEmail: ...


class AttachmentSource(Protocol):
    def attachments_for(self, email: OutgoingEmail) -> tuple[Attachment, ...]:
        """What travels with an email of the kind it is registered for; raises to have the email retried."""
