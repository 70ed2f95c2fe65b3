"""What a use case stages and commits as one: the subscription at the version it read, with its history event, the
outbox emails that report it, and the other items the change touches, each through a typed method."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from chalicelib.domain.access import AuditEvent, Seat
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription
from chalicelib.domain.outbox import OutboxMessage

if TYPE_CHECKING:
    from chalicelib.services.ports.invoices import WriteOperation


class UnitOfWork(Protocol):
    def save(self, before: Subscription, after: Subscription, event: AuditEvent) -> None:
        """`after` replaces `before` only while `before` is what is stored (its version and status, and what the
        change relies on: a free seat for one more, a seat for one less, the same admin for a transfer). `event`
        takes the history place of `after.version`: a version never moves without one."""

    def queue(self, messages: Sequence[OutgoingEmail | OutboxMessage]) -> None:
        """Outbox messages: emails, or a message on any other channel."""

    def stage(self, operations: Sequence[WriteOperation]) -> None:
        """Operations another store built for this change (an invoice store's documents and counters)."""

    def add_seat(self, subscription: Subscription, seat: Seat) -> None:
        """The seat, its holder's access and the customer's contact; conflicts when the person holds one."""

    def remove_seat(self, subscription: Subscription, email_key: str, roles: frozenset[str]) -> None:
        """`roles`: the holder's roles as read; conflicts when they changed meanwhile."""

    def hand_over_admin(
        self, before: Subscription, after: Subscription, old_roles: frozenset[str], new_roles: frozenset[str]
    ) -> None:
        """The admin role moves from `before.admin` to `after.admin` (roles as read); the pending link dies."""

    def commit(self) -> None:
        """All or nothing; raises WriteConflict when a condition no longer held."""


UnitOfWorkFactory = Callable[[], UnitOfWork]
