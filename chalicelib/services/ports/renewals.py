"""What the renewal job reads and writes: the subscriptions due by renewal date (sparse index), the renewal of one
term (with the invoice's operations in the same transaction) and the end of a cancelled subscription."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from chalicelib.domain.access import AuditEvent
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription
from chalicelib.services.ports.invoices import WriteOperation


class RenewalStore(Protocol):
    def shards(self) -> Sequence[int]:
        """The renewal index's shards: `due` lists one at a time."""

    def due(self, shard: int, today: date, limit: int, start: str | None) -> tuple[list[str], str | None]:
        """Ids of the shard's active subscriptions whose next renewal date is today or earlier, earliest first."""

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def renew(self, before: Subscription, following: date, event: AuditEvent, also: Sequence[WriteOperation]) -> None:
        """Moves next_renewal_date from `before`'s to `following`, with `also` (the term's invoice) in the same
        transaction. Raises WriteConflict ("subscription" in failed) unless `before` is still the stored version."""

    def end(self, before: Subscription, ended_on: date, email: OutgoingEmail, event: AuditEvent) -> None:
        """ACTIVE -> ENDED on `ended_on`, its email queued. Raises WriteConflict unless `before` is still stored."""
