"""What a use case stages and commits as one: the subscription at the version it read, with its history event, the
outbox emails that report it, and the other items the change touches, each through a typed method."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from chalicelib.domain.access import AuditEvent, Seat
from chalicelib.domain.activation_links import ActivationToken
from chalicelib.domain.models import Subscription
from chalicelib.domain.outbox import OutboxMessage

if TYPE_CHECKING:  # a pydantic model: the subscription reads never import it
    from chalicelib.domain.billing.document import Cause, Invoice


class UnitOfWork(Protocol):
    def save(self, before: Subscription, after: Subscription, event: AuditEvent) -> None:
        """`after` replaces `before` only while `before` is what is stored (its version and status, and what the
        change relies on: a free seat for one more, a seat for one less, the same admin for a transfer, the activation
        deadline ahead for an activation). `event` takes the history place of `after.version`: a version never moves
        without one."""

    def queue(self, messages: Sequence[OutboxMessage]) -> None:
        """Outbox messages: emails, or a message on any other channel."""

    def add_seat(self, subscription: Subscription, seat: Seat) -> None:
        """The seat, its holder's access and the customer's contact; conflicts when the person holds one."""

    def remove_seat(self, subscription: Subscription, email_key: str, roles: frozenset[str]) -> None:
        """`roles`: the holder's roles as read; conflicts when they changed meanwhile."""

    def hand_over_admin(
        self, before: Subscription, after: Subscription, old_roles: frozenset[str], new_roles: frozenset[str]
    ) -> None:
        """The admin role moves from `before.admin` to `after.admin` (roles as read); the pending link dies."""

    def keep_acceptance(self, activated: Subscription) -> None:
        """The acceptance evidence, kept apart (new), and the admin's access kept visible past the activation
        deadline."""

    def replace_link(self, before: Subscription, token: ActivationToken) -> None:
        """The new link's token (new); `before`'s token, if any, stops opening anything."""

    def issue(self, document: Invoice, cause: Cause, series: str, expected_last: int) -> None:
        """The cause's guard (new: one document per cause, label INVOICE_LABEL), the document stored once by its id,
        and the series counter moved from `expected_last` to `expected_last + 1` (label COUNTER_LABEL)."""

    def correct(
        self, corrected: Invoice, credit_note: Invoice, replacement: Invoice, numbers: Sequence[tuple[str, int]]
    ) -> None:
        """DESIGN 15.2: the correction's guard and the `corrected_by` mark beside `corrected` (only while it has none;
        label CORRECTION_LABEL), both new documents, and each series counter of `numbers` ((series, expected last))
        moved on by one (label COUNTER_LABEL)."""

    def commit(self) -> None:
        """All or nothing; raises WriteConflict when a condition no longer held."""


UnitOfWorkFactory = Callable[[], UnitOfWork]
