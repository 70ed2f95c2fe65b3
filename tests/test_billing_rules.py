"""Activation, renewal and invoicing rules on the in-memory unit of work (tests/fakes.py): the first invoice commits
with the activation or neither does, a number taken meanwhile is retried without a gap, renewals go term by term, a
cancellation ends without an invoice, a resent link moves the version with its event. No moto: the moto suites
(test_invoicing, test_renewals, test_races) test the DynamoDB adapter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from chalicelib.adapters.sellers import seller_catalog
from chalicelib.domain.activation_links import ActivationToken
from chalicelib.domain.agreements import AgreementText
from chalicelib.domain.billing.document import TermCause
from chalicelib.domain.errors import Conflict, DeadlinePassed
from chalicelib.domain.models import (
    ActivationChannel,
    ActivationEvidence,
    Role,
    Subscription,
    SubscriptionStatus,
)
from chalicelib.services.access import Authorized
from chalicelib.services.activation import Activation
from chalicelib.services.identity import Caller, RequestContext
from chalicelib.services.invoicing import InvoiceIssuer
from chalicelib.services.renewals import Renewals
from tests.fakes import (
    FakeDelivery,
    FakeInvoices,
    FakeOrders,
    FakeSubscriptions,
    FakeTable,
    FakeUnitsOfWork,
    FixedClock,
    person,
    subscription,
)

ADMIN = person("marie")
AGREEMENT = AgreementText(country="FR", language="fr", version="FR-fr-2026.1", title="Contrat", text="...")


class Agreements:
    def current(self, country: str, language: str) -> AgreementText:
        return AGREEMENT

    def get(self, country: str, language: str, version: str) -> AgreementText | None:
        return AGREEMENT if version == AGREEMENT.version else None


def _subscription(**changes: object) -> Subscription:
    ordered_at, deadline = datetime(2026, 11, 20, tzinfo=UTC), datetime(2027, 2, 18, tzinfo=UTC)
    fields = {"ordered_at": ordered_at, "activation_deadline": deadline, "license_quantity": 5}
    return subscription(**{**fields, "activation_token_hash": "old-hash", **changes})


def _active_monthly(**changes: object) -> Subscription:
    activated = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    evidence = ActivationEvidence(
        accepted_by=ADMIN.email, accepted_at=activated, agreement_version="FR-fr-2026.1", ip="1.1.1.1",
        user_agent="test", channel=ActivationChannel.PORTAL,
    )  # fmt: skip
    return _subscription(
        status=SubscriptionStatus.ACTIVE, term_months=1, activated_at=activated, evidence=evidence,
        next_renewal_date=date(2027, 2, 28), activation_token_hash=None, version=2, **changes,
    )  # fmt: skip


class World:
    def __init__(self, subscription: Subscription, now: datetime) -> None:
        self.table = FakeTable(subscriptions={subscription.id: subscription})
        self.table.tokens["old-hash"] = ActivationToken("old-hash", subscription.id, ADMIN.key, now)
        self.clock = FixedClock(now)
        self.delivery = FakeDelivery()
        self.invoices = FakeInvoices(self.table)
        units_of_work = FakeUnitsOfWork(self.table)
        self.before_unit_of_work = units_of_work.before_next  # what a concurrent writer commits before the next one
        self.issuer = InvoiceIssuer(self.invoices, seller_catalog(""), self.clock, units_of_work)  # type: ignore[arg-type]
        subscriptions = FakeSubscriptions(self.table)
        self.activation = Activation(
            FakeOrders(self.table), subscriptions, self.clock, Agreements(), lambda: b"k" * 32,  # type: ignore[arg-type]
            self.delivery, self.issuer, units_of_work,  # type: ignore[arg-type]
        )  # fmt: skip
        self.renewals = Renewals(
            subscriptions,
            self.issuer,
            self.clock,
            self.delivery,
            None,
            units_of_work,  # type: ignore[arg-type]
        )

    @property
    def subscription(self) -> Subscription:
        return self.table.subscriptions["sub-1"]

    def admin(self) -> Authorized:
        return Authorized(Caller(email=ADMIN.email, country="FR"), self.subscription, Role.ADMIN)

    def activate(self) -> None:
        self.activation.activate_in_portal(
            self.admin(), accepted=True, agreement_version=AGREEMENT.version, context=RequestContext("1.1.1.1", "t")
        )

    def actions(self) -> list[str]:
        return [e.action for e in self.table.events.get("sub-1", [])]

    def numbers(self) -> list[str]:
        return sorted(d.number for d in self.table.documents.values())

    def kinds(self) -> list[str]:
        return [m.kind for m in self.table.outbox]


def test_activation_commits_the_first_invoice_its_evidence_and_both_emails_together():
    world = World(_subscription(), datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    world.activate()

    active = world.subscription
    assert (active.status, active.next_renewal_date, active.version) == (
        SubscriptionStatus.ACTIVE, date(2027, 11, 26), 2,
    )  # fmt: skip
    assert world.actions() == ["subscription.activated"]
    assert world.numbers() == ["FR-2026-000001"] and world.table.series == {"FR-2026": 1}
    (document,) = world.table.documents.values()
    assert (document.period.start, document.period.end) == (date(2026, 11, 26), date(2027, 11, 25))
    assert world.table.causes == {("sub-1", TermCause(date(2026, 11, 26))): document.id}
    assert world.table.evidence["sub-1"].channel is ActivationChannel.PORTAL
    assert world.table.visible_past_deadline == {"sub-1"}
    assert world.kinds() == ["activation_confirmed", "invoice_issued"]
    assert [m.kind for m in world.delivery.delivered] == ["activation_confirmed", "invoice_issued"]


def test_an_activation_whose_term_is_already_invoiced_writes_nothing():
    world = World(_subscription(), datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    world.table.causes[("sub-1", TermCause(date(2026, 11, 26)))] = "an-earlier-document"

    with pytest.raises(Conflict, match="changed while it was being activated"):
        world.activate()

    assert world.subscription.status is SubscriptionStatus.PENDING_ACTIVATION and world.subscription.version == 1
    assert world.actions() == [] and world.table.outbox == [] and world.table.evidence == {}
    assert world.table.series == {} and world.table.documents == {}


def test_an_activation_losing_to_the_cleanup_at_the_deadline_writes_nothing():
    world = World(_subscription(), datetime(2027, 2, 17, 23, 59, tzinfo=UTC))
    world.before_unit_of_work.append(lambda: world.table.subscriptions.pop("sub-1"))  # removed unactivated meanwhile

    with pytest.raises(DeadlinePassed):
        world.activate()
    assert world.table.subscriptions == {} and world.table.documents == {} and world.table.series == {}
    assert world.actions() == [] and world.table.outbox == [] and world.table.evidence == {}


def test_a_number_taken_between_the_read_and_the_commit_is_retried_with_the_next_one():
    world = World(_subscription(), datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    taken = []

    def another_issuer_commits_number_one() -> None:
        if not taken:
            taken.append(1)
            world.table.series["FR-2026"] = 1

    world.invoices.after_read = another_issuer_commits_number_one
    world.activate()

    assert world.numbers() == ["FR-2026-000002"] and world.table.series == {"FR-2026": 2}
    assert world.actions() == ["subscription.activated"]
    assert world.kinds() == ["activation_confirmed", "invoice_issued"]  # the failed attempt queued nothing


def test_resending_the_link_moves_the_version_with_its_event_and_retires_the_old_link():
    world = World(_subscription(), datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    after = world.activation.resend_activation_email(world.admin())

    assert world.subscription == after and after.version == 2
    assert world.actions() == ["activation_link.resent"]
    assert world.table.events["sub-1"][0].details == {"to": ADMIN.email}
    assert list(world.table.tokens) == [after.activation_token_hash] != ["old-hash"]
    assert world.kinds() == ["activation_request"]


def test_a_subscription_two_terms_behind_renews_term_by_term_with_one_invoice_each():
    world = World(_active_monthly(), datetime(2027, 4, 1, 5, 0, tzinfo=UTC))
    assert world.renewals.settle({"subscription_id": "sub-1"}) == {"renewed": 1, "ended": 0, "invoices": 2}

    assert world.subscription.next_renewal_date == date(2027, 4, 30) and world.subscription.version == 4
    assert world.actions() == ["subscription.renewed", "subscription.renewed"]
    periods = sorted((d.period.start, d.period.end) for d in world.table.documents.values())
    assert periods == [(date(2027, 2, 28), date(2027, 3, 30)), (date(2027, 3, 31), date(2027, 4, 29))]
    assert world.numbers() == ["FR-2027-000001", "FR-2027-000002"]
    assert world.renewals.settle({"subscription_id": "sub-1"}) == {"renewed": 0, "ended": 0, "invoices": 0}


def test_a_cancelled_subscription_ends_on_its_renewal_date_without_an_invoice():
    world = World(_active_monthly(cancel_at_renewal=True), datetime(2027, 2, 28, 5, 0, tzinfo=UTC))
    assert world.renewals.settle({"subscription_id": "sub-1"}) == {"renewed": 0, "ended": 1, "invoices": 0}

    ended = world.subscription
    assert (ended.status, ended.ended_on) == (SubscriptionStatus.ENDED, date(2027, 2, 28))
    assert ended.next_renewal_date is None
    assert world.actions() == ["subscription.ended"] and world.table.documents == {}
    assert world.kinds() == ["subscription_ended"]


def test_a_renewal_racing_a_portal_change_rereads_and_renews_once_without_a_gap():
    world = World(_active_monthly(), datetime(2027, 2, 28, 5, 0, tzinfo=UTC))

    def po_changed_in_the_portal() -> None:
        current = world.subscription
        world.table.subscriptions["sub-1"] = replace(current, po_number="PO-9", version=current.version + 1)

    world.before_unit_of_work.append(po_changed_in_the_portal)
    assert world.renewals.settle({"subscription_id": "sub-1"}) == {"renewed": 1, "ended": 0, "invoices": 1}

    assert world.numbers() == ["FR-2027-000001"] and world.table.series == {"FR-2027": 1}
    (document,) = world.table.documents.values()
    assert document.po_number == "PO-9"  # the invoice shows the state the renewal re-read
    assert world.subscription.next_renewal_date == date(2027, 3, 31)


def test_the_transitions_refuse_a_state_they_do_not_start_from():
    active = _active_monthly()
    with pytest.raises(Conflict):
        active.activate(active.evidence, date(2028, 1, 31))  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        active.end("system:renewal", datetime(2027, 2, 28, tzinfo=UTC))  # not cancelled: it renews
    with pytest.raises(Conflict):
        _subscription().renew(date(2027, 12, 1), "system:renewal", datetime(2027, 2, 28, tzinfo=UTC))
