"""A Hypothesis state machine over the service layer: random sequences of orders, activations, seat changes,
transfers, edits, cancellations, clock moves, cleanups and renewals, checking invariants 1 to 4 and the billing
invariants (one invoice per past and current term, gapless series) after every step."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from moto import mock_aws

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.dynamodb.schema import PENDING_PARTITION, shards
from chalicelib.api.subscription_routes import PO_NUMBER_BODY
from chalicelib.container import Container, use_container
from chalicelib.domain.billing.terms import renewal_date
from chalicelib.domain.errors import AlreadyActive, Conflict, DeadlinePassed, DomainError, Forbidden, NotFound
from chalicelib.domain.models import Person, Role, normalize_email, utc_iso
from chalicelib.services.access import Authorized
from chalicelib.services.cleanup import Cleanup
from chalicelib.services.identity import Caller, RequestContext
from tests.support import NOW, TABLE, Stack, order, provision, shared_issuer, shared_session

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
    term_months: int = 12
    anchor: date | None = None  # the activation date
    next_renewal: date | None = None
    ended_on: date | None = None

    @property
    def manageable(self) -> bool:
        return self.active and self.ended_on is None


class PortalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        env, self.ddb = provision(Path(tempfile.mkdtemp()))
        self.clock = FixedClock(NOW)
        self.c = Container(env, clock=self.clock, session=shared_session())
        use_container(self.c)  # the job_worker function's container
        self.stack = Stack(container=self.c, clock=self.clock, issuer=shared_issuer(), ddb=self.ddb)
        self.model: dict[str, Expected] = {}
        self.removed_active: list[str] = []
        self.orders = 0

    def teardown(self) -> None:
        use_container(None)
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
        term_months=st.sampled_from([1, 12]),
    )
    def place_order(self, admin: str, country: str, quantity: int, age_days: int, term_months: int) -> None:
        self.orders += 1
        ordered_at = self.clock.now() - timedelta(days=age_days)
        message = order(
            order_id=f"SM-{self.orders}",
            ordered_at=utc_iso(ordered_at),
            country=country,
            locale="de-DE" if country == "DE" else "fr-FR",
            license_quantity=quantity,
            term_months=term_months,
            admin={"email": admin, "name": admin.split("@")[0]},
        )
        result = self.c.intake.receive_order(message)
        deadline = ordered_at + timedelta(days=90)
        if self.clock.now() >= deadline:
            assert result.outcome == "expired"
            return
        assert result.created
        self.model[result.subscription_id] = Expected(
            country, normalize_email(admin), quantity, deadline, term_months=term_months
        )

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
        e.anchor = self.clock.now().date()
        e.next_renewal = renewal_date(e.anchor, 1, e.term_months)

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
            assert not e.manageable or len(e.seats) >= e.quantity or normalize_email(person) in e.seats
            return
        assert e.manageable and len(e.seats) < e.quantity and normalize_email(person) not in e.seats
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
            assert not e.manageable
            return
        assert e.manageable
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
            assert not e.manageable or normalize_email(person) == e.admin
            return
        assert e.manageable
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
            assert not e.manageable or (stale and error.code == "PreconditionFailed") or not po.strip()
            return
        assert e.manageable and not stale

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
            assert not e.manageable
            return
        assert changed == (e.cancel != cancel)
        e.cancel = cancel

    @rule(hours=st.integers(1, 24 * 60))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule(days=st.integers(28, 40))
    def weeks_pass_then_renewals_run(self, days: int) -> None:
        self.clock.advance(days=days)
        self.renewals()

    @rule()
    def renewals(self) -> None:
        summary = self.stack.run_job("process_renewals", page_size=2)
        today = self.clock.now().date()
        invoices = ended = 0
        for e in self.model.values():
            while e.manageable and e.next_renewal is not None and e.anchor is not None and e.next_renewal <= today:
                if e.cancel:
                    e.ended_on, e.next_renewal = e.next_renewal, None
                    ended += 1
                    break
                k = next(k for k in range(1, 1000) if renewal_date(e.anchor, k, e.term_months) == e.next_renewal)
                e.next_renewal = renewal_date(e.anchor, k + 1, e.term_months)
                invoices += 1
        done = (summary["complete"], summary.get("invoices", 0), summary.get("ended", 0))
        assert done == (True, invoices, ended)

    @rule()
    def cleanup(self) -> None:
        assert Cleanup(self.c.cleanup_store, self.clock).remove_unactivated(lambda: 900, page_size=2).complete
        now = self.clock.now()
        for sid, e in list(self.model.items()):
            if not e.active and now >= e.deadline:
                del self.model[sid]
        for shard in shards(PENDING_PARTITION):
            pending = self.ddb.query(
                TableName=TABLE,
                IndexName="pending_by_deadline",
                KeyConditionExpression="DLPK = :p AND DLSK < :now",
                ExpressionAttributeValues={":p": {"S": shard}, ":now": {"S": utc_iso(now) + "~"}},
            )
            assert pending["Items"] == [], "invariant 2: a pending subscription survived a cleanup after its deadline"

    # -- invariants ----------------------------------------------------------------------------------------------
    @invariant()
    def stored_state_matches_and_invariants_hold(self) -> None:
        for sid, e in self.model.items():
            s = self.c.subscriptions.get_subscription(sid)
            assert s is not None, "invariant 2: an active or unexpired subscription was removed"
            assert s.status.value == ("ended" if e.ended_on else "active" if e.active else "pending_activation")
            assert s.next_renewal_date == e.next_renewal and s.ended_on == e.ended_on
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
    def one_invoice_per_past_and_current_term_and_gapless_series(self) -> None:
        series: dict[str, list[int]] = defaultdict(list)
        for sid, e in self.model.items():
            items, _ = self.c.invoices.list_invoices(sid, 100, None)
            for invoice in items:
                prefix, _, n = invoice.number.rpartition("-")
                series[prefix].append(int(n))
            if not e.active or e.anchor is None:
                assert items == [], "nothing is invoiced before activation"
                continue
            upto = e.ended_on or e.next_renewal  # the start of the first term not (yet) invoiced
            terms = []
            k = 0
            while (start := renewal_date(e.anchor, k, e.term_months)) != upto:
                terms.append(start)
                k += 1
            assert sorted(i.period.start for i in items) == terms, sid
        for prefix, numbers in series.items():
            assert sorted(numbers) == list(range(1, len(numbers) + 1)), prefix

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
    max_examples=10,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPortalStateMachine = PortalMachine.TestCase
