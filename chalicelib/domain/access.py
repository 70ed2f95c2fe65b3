"""Who may see a subscription and in which role: access entries, seats, the customer's known contacts, the history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AccessEntry:
    """One person's entry on one subscription, as the person index lists it (it nominates; the items decide)."""

    subscription_id: str
    country: str
    visible_until: datetime | None
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AccessPage:
    entries: list[AccessEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class Seat:
    email: str
    name: str
    assigned_at: datetime


@dataclass(frozen=True)
class Contact:
    email: str
    name: str


# Every kind of history line. The API publishes this closed list (each with its details' shape): an event of any
# other kind is refused when it is made, so a new kind cannot reach the history without reaching the document.
AUDIT_ACTIONS = (
    "subscription.activated",
    "seat.assigned",
    "seat.removed",
    "admin.transferred",
    "po_number.changed",
    "payment_method.changed",
    "cancellation.scheduled",
    "cancellation.withdrawn",
    "subscription.renewed",
    "subscription.ended",
    "email.bounced",
    "email.complained",
    "activation_link.resent",
    "invoice.corrected",
)


@dataclass(frozen=True)
class AuditEvent:
    """One line of a subscription's history."""

    subscription_id: str
    at: datetime
    actor: str
    action: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in AUDIT_ACTIONS:
            raise ValueError(f"history action {self.action!r} is not in AUDIT_ACTIONS (nor in the API's document)")
