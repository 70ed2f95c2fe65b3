"""The administration rules on the in-memory unit of work (tests/fakes.py): seat limit, one admin, version conflicts.
No moto: these test the use cases' rules, not DynamoDB (the moto suites test the adapter)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.errors import Conflict, PreconditionFailed, WriteConflict
from chalicelib.domain.models import (
    Role,
    Subscription,
    SubscriptionStatus,
)
from chalicelib.services.access import Authorized
from chalicelib.services.administration import Administration
from chalicelib.services.identity import Caller
from tests.fakes import (
    FakeAdministrationStore,
    FakeDelivery,
    FakeSubscriptions,
    FakeTable,
    FakeUnitOfWork,
    FakeUnitsOfWork,
    FixedClock,
    person,
    subscription,
)

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
ADMIN = person("marie")


def _active(seats: int = 2) -> Subscription:
    return subscription(
        status=SubscriptionStatus.ACTIVE,
        license_quantity=seats,
        activated_at=datetime(2026, 3, 2, tzinfo=UTC),
        next_renewal_date=date(2027, 3, 2),
        version=2,
    )


class World:
    def __init__(self, subscription: Subscription) -> None:
        self.table = FakeTable(subscriptions={subscription.id: subscription})
        self.table.roles[(subscription.id, subscription.admin.key)] = frozenset({"admin"})
        self.delivery = FakeDelivery()
        units_of_work = FakeUnitsOfWork(self.table)
        self.before_commit = units_of_work.before_next  # what a concurrent writer does before the next one commits
        self.administration = Administration(
            FakeSubscriptions(self.table),  # type: ignore[arg-type]
            FakeAdministrationStore(self.table),  # type: ignore[arg-type]
            FixedClock(NOW),
            None,  # type: ignore[arg-type]  # the agreement is not read by these rules
            self.delivery,  # type: ignore[arg-type]
            units_of_work,
        )

    @property
    def subscription(self) -> Subscription:
        return self.table.subscriptions["sub-1"]

    def admin(self) -> Authorized:
        return Authorized(Caller(email=self.subscription.admin.email, country="FR"), self.subscription, Role.ADMIN)

    def actions(self) -> list[str]:
        return [e.action for e in self.table.events.get("sub-1", [])]

    def someone_else_edits(self) -> None:
        """A concurrent change that commits first (another tab editing the PO number)."""
        current = self.subscription
        self.table.subscriptions["sub-1"] = replace(current, po_number="PO-OTHER", version=current.version + 1)


def test_seats_stop_at_the_licence_and_each_one_is_recorded_and_mailed():
    world = World(_active(seats=2))
    world.administration.assign_seat(world.admin(), person("ann"))
    world.administration.assign_seat(world.admin(), person("bob"))

    with pytest.raises(Conflict, match="All 2 seats are assigned"):
        world.administration.assign_seat(world.admin(), person("cid"))

    assert world.subscription.seats_used == 2 and len(world.table.seats) == 2
    assert world.subscription.version == 4
    assert world.actions() == ["seat.assigned", "seat.assigned"]
    assert [m.to for m in world.table.outbox] == ["ann@example.fr", "bob@example.fr"] == [
        m.to for m in world.delivery.delivered
    ]


def test_a_seat_taken_concurrently_is_reported_as_held_and_nothing_is_written():
    world = World(_active(seats=3))
    ann = person("ann")
    world.administration.assign_seat(world.admin(), ann)

    with pytest.raises(Conflict, match="already holds a seat"):
        world.administration.assign_seat(world.admin(), ann)

    assert world.subscription.seats_used == 1 and world.actions() == ["seat.assigned"]


def test_there_is_always_exactly_one_admin_and_the_old_one_keeps_only_a_seat():
    world = World(_active(seats=3))
    world.administration.assign_seat(world.admin(), ADMIN)
    with pytest.raises(Conflict, match="already the administrator"):
        world.administration.transfer_admin(world.admin(), ADMIN)

    after = world.administration.transfer_admin(world.admin(), person("nina"))

    admins = [key for key, roles in world.table.roles.items() if "admin" in roles]
    assert admins == [("sub-1", "nina@example.fr")] and after.admin.key == "nina@example.fr"
    assert world.table.roles[("sub-1", ADMIN.key)] == {"seat"}
    assert world.actions()[-1] == "admin.transferred" and world.subscription == after


def test_a_stale_version_is_a_write_conflict_and_writes_nothing():
    world = World(_active())
    stale = world.subscription
    world.someone_else_edits()
    after, event = stale.change_po_number("PO-1", ADMIN.email, NOW)
    uow = FakeUnitOfWork(world.table)
    uow.save(stale, after, event)
    uow.queue([])

    with pytest.raises(WriteConflict) as lost:
        uow.commit()

    assert lost.value.failed == {"subscription"} and not uow.committed
    assert world.subscription.po_number == "PO-OTHER" and world.actions() == []


def test_a_concurrent_change_makes_the_edit_retry_on_the_new_version_unless_if_match_pinned_the_old_one():
    world = World(_active())
    read = world.subscription.version
    world.before_commit.append(world.someone_else_edits)
    with pytest.raises(PreconditionFailed):
        world.administration.edit_po_number(world.admin(), "PO-1", f'"{read}"')
    assert world.subscription.po_number == "PO-OTHER"

    world.before_commit.append(world.someone_else_edits)
    after = world.administration.edit_po_number(world.admin(), "PO-2", None)

    assert after.po_number == "PO-2" and after.version == read + 3 and world.subscription == after
    assert world.actions() == ["po_number.changed"]
    assert world.table.events["sub-1"][0].details == {"old": "PO-OTHER", "new": "PO-2"}


def test_cancellation_is_recorded_once_and_setting_it_again_changes_nothing():
    world = World(_active())
    assert world.administration.set_cancellation(world.admin(), True)[1] is True
    subscription, changed = world.administration.set_cancellation(world.admin(), True)

    assert changed is False and subscription.cancel_at_renewal is True
    assert world.actions() == ["cancellation.scheduled"] and len(world.table.outbox) == 1
