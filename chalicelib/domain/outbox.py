"""What the outbox holds: a message for one delivery channel (an email, or any other channel a dispatcher is
registered for), of a kind, with what that channel needs (`domain/mail.py`'s OutgoingEmail is the email channel's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

EMAIL_CHANNEL = "email"


@dataclass(frozen=True)
class OutboxMessage:
    """Queued in the transaction of the change it reports (invariant 6); `message_id` names that change, so a
    retried change can never queue a second copy. `payload` is the channel's own: each channel reads only its own."""

    message_id: str
    channel: str
    kind: str
    payload: dict[str, Any]
    due_at: datetime
    attempts: int = 0
