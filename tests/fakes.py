"""An in-memory unit of work and stores (cosmicpython's FakeUnitOfWork), so tests of the administration rules run
without moto. They keep the DynamoDB adapter's promises: a save applies only on the version and status read (and with
a free seat for one more), a seat is new, roles are as read, and a failed commit writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.domain.access import AuditEvent, Contact, Seat
from chalicelib.domain.errors import WriteConflict
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Person, Subscription, normalize_email
from chalicelib.domain.outbox import OutboxMessage


@dataclass
class FakeTable:
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    seats: dict[tuple[str, str], Seat] = field(default_factory=dict)
    roles: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    events: dict[str, list[AuditEvent]] = field(default_factory=dict)  # oldest first
    outbox: list[OutgoingEmail | OutboxMessage] = field(default_factory=list)
    contacts: dict[tuple[str, str], Contact] = field(default_factory=dict)


class FakeUnitOfWork:
    def __init__(self, table: FakeTable) -> None:
        self._table = table
        self._checks: list[tuple[str, Callable[[], bool]]] = []
        self._writes: list[Callable[[], None]] = []
        self.committed = False

    def _stage(self, label: str, check: Callable[[], bool], write: Callable[[], None]) -> None:
        self._checks.append((label, check))
        self._writes.append(write)

    def save(self, before: Subscription, after: Subscription, event: AuditEvent) -> None:
        def still() -> bool:
            stored = self._table.subscriptions.get(before.id)
            if stored is None or stored.version != before.version or stored.status is not before.status:
                return False
            return after.seats_used <= stored.license_quantity and stored.admin.key == before.admin.key

        def write() -> None:
            self._table.subscriptions[after.id] = after
            self._table.events.setdefault(after.id, []).append(event)

        self._stage("subscription", still, write)

    def queue(self, messages: Sequence[OutgoingEmail | OutboxMessage]) -> None:
        self._writes.append(lambda: self._table.outbox.extend(messages))

    def add_seat(self, subscription: Subscription, seat: Seat) -> None:
        key = (subscription.id, normalize_email(seat.email))

        def write() -> None:
            self._table.seats[key] = seat
            self._table.roles[key] = self._table.roles.get(key, frozenset()) | {"seat"}
            contact = (subscription.customer.id, key[1])
            self._table.contacts[contact] = Contact(email=seat.email, name=seat.name)

        self._stage("seat", lambda: key not in self._table.seats, write)

    def remove_seat(self, subscription: Subscription, email_key: str, roles: frozenset[str]) -> None:
        key = (subscription.id, email_key)
        self._stage("seat", lambda: key in self._table.seats, lambda: self._table.seats.pop(key))
        self._stage("access", self._roles_are(key, roles), lambda: self._drop(key, "seat"))

    def hand_over_admin(
        self, before: Subscription, after: Subscription, old_roles: frozenset[str], new_roles: frozenset[str]
    ) -> None:
        old, new = (before.id, before.admin.key), (after.id, after.admin.key)
        self._stage("access", self._roles_are(old, old_roles), lambda: self._drop(old, "admin"))

        def grant() -> None:
            self._table.roles[new] = self._table.roles.get(new, frozenset()) | {"admin"}

        self._stage("new_admin_access", self._roles_are(new, new_roles), grant)

    def _roles_are(self, key: tuple[str, str], roles: frozenset[str]) -> Callable[[], bool]:
        return lambda: self._table.roles.get(key, frozenset()) == roles

    def _drop(self, key: tuple[str, str], role: str) -> None:
        left = self._table.roles.get(key, frozenset()) - {role}
        if left:
            self._table.roles[key] = left
        else:
            self._table.roles.pop(key, None)

    def commit(self) -> None:
        failed = frozenset(label for label, check in self._checks if not check())
        if failed:
            raise WriteConflict(failed)
        for write in self._writes:
            write()
        self.committed = True


class FakeSubscriptions:
    def __init__(self, table: FakeTable) -> None:
        self._table = table

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return self._table.subscriptions.get(subscription_id)


class FakeAdministrationStore:
    def __init__(self, table: FakeTable) -> None:
        self._table = table

    def get_roles(self, subscription_id: str, emails: list[str]) -> dict[str, frozenset[str]]:
        return {e: self._table.roles.get((subscription_id, e), frozenset()) for e in emails}

    def get_seat(self, subscription_id: str, email_key: str) -> Seat | None:
        return self._table.seats.get((subscription_id, email_key))

    def list_seats(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[Seat], str | None]:
        seats = [s for (sid, _), s in sorted(self._table.seats.items()) if sid == subscription_id]
        return seats[:limit], None

    def history(self, subscription_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEvent], str | None]:
        return list(reversed(self._table.events.get(subscription_id, [])))[:limit], None


class FakeDelivery:
    def __init__(self) -> None:
        self.delivered: list[OutgoingEmail] = []

    def deliver_now(self, emails: list[OutgoingEmail]) -> None:
        self.delivered.extend(emails)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def person(name: str) -> Person:
    return Person(email=f"{name}@example.fr", name=name.title())
