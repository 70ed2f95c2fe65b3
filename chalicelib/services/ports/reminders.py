"""What the reminder job reads and writes: index ranges of pending deadlines and renewal dates, how far each
threshold's range was read, and a reminder committed with its marker and its email."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription


@dataclass(frozen=True)
class IndexEntry:
    """A subscription an index range lists, and where the range stands once it is done (opaque)."""

    subscription_id: str
    position: str


class ReminderStore(Protocol):
    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def watermark(self, name: str) -> str | None:
        """How far the range of threshold `name` was read by earlier runs (None: never)."""

    def advance_watermark(self, name: str, position: str) -> None:
        """Moves it forward only: a slower parallel run never moves it back."""

    def shards(self) -> Sequence[int]:
        """The indexes' shards: the ranges are read one shard at a time, each with its own watermark."""

    def pending_deadlines(
        self, shard: int, after: str | None, floor: datetime, upto: datetime, limit: int, start: str | None
    ) -> tuple[list[IndexEntry], str | None]:
        """The shard's pending subscriptions with floor < deadline <= upto, past the watermark `after`, in deadline
        order."""

    def pending_range_end(self, upto: datetime) -> str: ...

    def renewal_dates(
        self, shard: int, after: str | None, floor: date, upto: date, limit: int, start: str | None
    ) -> tuple[list[IndexEntry], str | None]:
        """The shard's active subscriptions with floor < next_renewal_date <= upto, past the watermark `after`."""

    def renewal_range_end(self, upto: date) -> str: ...

    def send_activation_reminder(
        self, subscription: Subscription, marker: str, email: OutgoingEmail, now: datetime
    ) -> None:
        """The marker (new), the email, and the subscription still the same pending version before its deadline.
        Raises WriteConflict: "marker" in failed = already sent; "subscription" = it changed."""

    def send_renewal_reminder(
        self, subscription: Subscription, marker: str, email: OutgoingEmail, now: datetime
    ) -> None:
        """Same, with the subscription still the same active version."""
