"""A Hypothesis state machine over the service layer: random sequences of orders, activations, seat changes,
transfers, edits, cancellations, clock moves and cleanups, checking invariants 1 to 4 after every step."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from moto import mock_aws

from chalicelib.adapters.clock import FixedClock
from chalicelib.api.subscription_routes import PO_NUMBER_BODY
from chalicelib.container import Container
from chalicelib.domain.errors import AlreadyActive, Conflict, DeadlinePassed, DomainError, Forbidden, NotFound
from chalicelib.domain.models import Person, Role, normalize_email, utc_iso
from chalicelib.services.access import Authorized
from chalicelib.services.cleanup import Cleanup
from chalicelib.services.identity import Caller, RequestContext
from tests.support import NOW, TABLE, order, provision, shared_session

PEOPLE = ["ann@example.fr", "Bob@Example.fr", "cid@example.fr", "dee@example.fr"]
COUNTRIES = ["FR", "DE"]
VERSION = {"FR": "FR-fr-2026.1", "DE": "DE-de-2026.1"}


@dataclass
class Expected:
    country: str
    admin: str
    quantity: int
    deadline: datetime
    active: bool = False
    seats: set[str] = field(default_factory=set)
    cancel: bool = False


class PortalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        env, self.ddb = provision(Path(tempfile.mkdtemp()))
        self.clock = FixedClock(NOW)
        self.c = Container(env, clock=self.clock, session=shared_session())
        self.model: dict[str, Expected] = {}
        self.removed_active: list[str] = []
        self.orders = 0

    def teardown(self) -> None:
        self.mock.stop()

    # -- helpers -------------------------------------------------------------------------------------------------
    def caller(self, email: str, country: str) -> Caller:
        return Caller(email, country)

    def admin_of(self, e: Expected, sid: str, person: str | None = None, active: bool = True) -> Authorized:
        """As the pipeline authorizes an admin route (404, 403, 409 before anything else)."""
        caller = self.caller(person or e.admin, e.country)
        return self.c.access.authorize(caller, sid, role=Role.ADMIN, active=active)

    def pick(self, data: st.DataObject) -> str:
        # By position in order of creation: subscription ids are random, so sorting them would make replays of a
        # failing example draw differently.
        return data.draw(st.sampled_from(list(self.model)))

    def pending_visible(self, e: Expected) -> bool:
        return e.active or self.clock.now() < e.deadline

    # -- rules ---------------------------------------------------------------------------------------------------
    @rule(
        admin=st.sampled_from(PEOPLE),
        country=st.sampled_from(COUNTRIES),
        quantity=st.integers(1, 3),
        age_days=st.integers(0, 100),
    )
    def place_order(self, admin: str, country: str, quantity: int, age_days: int) -> None:
        self.orders += 1
        ordered_at = self.clock.now() - timedelta(days=age_days)
        message = order(
            order_id=f"SM-{self.orders}",
            ordered_at=utc_iso(ordered_at),
            country=country,
            locale="de-DE" if country == "DE" else "fr-FR",
            license_quantity=quantity,
            admin={"email": admin, "name": admin.split("@")[0]},
        )
        result = self.c.intake.receive_order(message)
        deadline = ordered_at + timedelta(days=90)
        if self.clock.now() >= deadline:
            assert result.outcome == "expired"
            return
        assert result.created
        self.model[result.subscription_id] = Expected(country, normalize_email(admin), quantity, deadline)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), person=st.sampled_from(PEOPLE), country=st.sampled_from(COUNTRIES))
    def activate(self, data: st.DataObject, person: str, country: str) -> None:
        sid = self.pick(data)
        e = self.model[sid]
        visible = (
            country == e.country
            and self.pending_visible(e)
            and (normalize_email(person) == e.admin or normalize_email(person) in e.seats)
        )
        try:
            self.c.activation.activate_in_portal(
                self.c.access.authorize(self.caller(person, country), sid, role=Role.ADMIN, active=False),
                accepted=True,
                agreement_version=VERSION[e.country],
                context=RequestContext("10.0.0.1", "hypothesis"),
            )
        except NotFound:
            assert not visible
            return
        except Forbidden:  # a seat holder sees it but may not act as admin
            assert visible and e.active and normalize_email(person) != e.admin
            return
        except AlreadyActive:
            assert visible and e.active
            return
        except DeadlinePassed:
            raise AssertionError("a visible pending subscription is before its deadline") from None
        assert visible and not e.active and normalize_email(person) == e.admin
        e.active = True

    @precondition(lambda self: self.model)
    @rule(data=st.data(), person=st.sampled_from(PEOPLE))
    def assign(self, data: st.DataObject, person: str) -> None:
        sid = self.pick(data)
        e = self.model[sid]
        try:
            self.c.administration.assign_seat(self.admin_of(e, sid), Person(email=person, name="P"))
        except NotFound:
            assert not self.pending_visible(e)
            return
        except Conflict:
            assert not e.active or len(e.seats) >= e.quantity or normalize_email(person) in e.seats
            return
        assert e.active and len(e.seats) < e.quantity and normalize_email(person) not in e.seats
        e.seats.add(normalize_email(person))

    @precondition(lambda self: self.model)
    @rule(data=st.data(), person=st.sampled_from(PEOPLE))
    def unassign(self, data: st.DataObject, person: str) -> None:
        sid = self.pick(data)
        e = self.model[sid]
        try:
            self.c.administration.remove_seat(self.admin_of(e, sid), person)
        except NotFound:
            assert not self.pending_visible(e) or (e.active and normalize_email(person) not in e.seats)
            return
        except Conflict:
            assert not e.active
            return
        assert e.active
        e.seats.remove(normalize_email(person))

    @precondition(lambda self: self.model)
    @rule(data=st.data(), person=st.sampled_from(PEOPLE))
    def transfer(self, data: st.DataObject, person: str) -> None:
        sid = self.pick(data)
        e = self.model[sid]
        try:
            self.c.administration.transfer_admin(self.admin_of(e, sid), Person(email=person, name="New"))
        except NotFound:
            assert not self.pending_visible(e)
            return
        except Conflict:
            assert not e.active or normalize_email(person) == e.admin
            return
        assert e.active
        e.admin = normalize_email(person)

    @precondition(lambda self: self.model)
    @rule(
        data=st.data(),
        po=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=35),
        stale=st.booleans(),
    )
    def edit_po(self, data: st.DataObject, po: str, stale: bool) -> None:
        sid = self.pick(data)
        e = self.model[sid]
        current = self.c.subscriptions.get_subscription(sid)
        if_match = f'"{current.version - 1 if stale else current.version}"' if current else None
        try:
            admin = self.admin_of(e, sid)
            command = PO_NUMBER_BODY.parse({"po_number": po})
            self.c.administration.edit_po_number(admin, command.po_number, if_match)
        except NotFound:
            assert not self.pending_visible(e)
            return
        except DomainError as error:
            assert not e.active or (stale and error.code == "PreconditionFailed") or not po.strip()
            return
        assert e.active and not stale

    @precondition(lambda self: self.model)
    @rule(data=st.data(), cancel=st.booleans())
    def cancellation(self, data: st.DataObject, cancel: bool) -> None:
        sid = self.pick(data)
        e = self.model[sid]
        try:
            _, changed = self.c.administration.set_cancellation(self.admin_of(e, sid), cancel)
        except NotFound:
            assert not self.pending_visible(e)
            return
        except Conflict:
            assert not e.active
            return
        assert changed == (e.cancel != cancel)
        e.cancel = cancel

    @rule(hours=st.integers(1, 24 * 60))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule()
    def cleanup(self) -> None:
        Cleanup(self.c.cleanup_store, self.clock).remove_unactivated(lambda: 900, page_size=2)
        now = self.clock.now()
        for sid, e in list(self.model.items()):
            if not e.active and now >= e.deadline:
                del self.model[sid]
        pending = self.ddb.query(
            TableName=TABLE,
            IndexName="pending_by_deadline",
            KeyConditionExpression="DLPK = :p AND DLSK < :now",
            ExpressionAttributeValues={":p": {"S": "PENDING"}, ":now": {"S": utc_iso(now) + "~"}},
        )
        assert pending["Items"] == [], "invariant 2: a pending subscription survived a cleanup after its deadline"

    # -- invariants ----------------------------------------------------------------------------------------------
    @invariant()
    def stored_state_matches_and_invariants_hold(self) -> None:
        for sid, e in self.model.items():
            s = self.c.subscriptions.get_subscription(sid)
            assert s is not None, "invariant 2: an active or unexpired subscription was removed"
            assert (s.status.value == "active") == e.active
            if e.active:  # invariant 1
                ev = s.evidence
                assert ev is not None and ev.accepted_at < s.activation_deadline
                assert ev.agreement_version == VERSION[e.country] and ev.ip and ev.channel.value == "portal"
                events, _ = self.c.administration_store.history(sid, 100, None)
                assert [x.action for x in events].count("subscription.activated") == 1
            seats, _ = self.c.administration_store.list_seats(sid, 100, None)  # invariant 3
            assert s.seats_used == len(seats) == len(e.seats) <= s.license_quantity
            assert {normalize_email(x.email) for x in seats} == e.seats
            access = self.ddb.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :a)",
                ExpressionAttributeValues={":pk": {"S": f"SUB#{sid}"}, ":a": {"S": "ACCESS#"}},
            )
            admins = [i["SK"]["S"] for i in access["Items"] if "admin" in i["roles"]["SS"]]
            assert admins == [f"ACCESS#{e.admin}"] and s.admin.key == e.admin  # invariant 4: exactly one admin
            assert s.cancel_at_renewal == e.cancel

    @invariant()
    def callers_see_exactly_what_the_rule_allows(self) -> None:
        for person in PEOPLE:
            key = normalize_email(person)
            for country in COUNTRIES:
                seen = {
                    v.subscription.id: v.role.value
                    for v in self.c.access.list_subscriptions(Caller(person, country), limit=100, cursor=None).items
                }
                expected = {
                    sid: "admin" if e.admin == key else "user"
                    for sid, e in self.model.items()
                    if e.country == country and self.pending_visible(e) and (e.admin == key or key in e.seats)
                }
                assert seen == expected, (person, country)


PortalMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPortalStateMachine = PortalMachine.TestCase
