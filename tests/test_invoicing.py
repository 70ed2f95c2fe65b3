"""Issuing invoices (DESIGN 14.2, 14.7): the first invoice at activation, gapless numbers under races and failures,
one invoice per term whatever the retries."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from botocore.exceptions import ClientError

from chalicelib import jobs
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.billing.json import invoice_to_json
from chalicelib.domain.errors import AlreadyActive
from chalicelib.services.identity import RequestContext
from devstack.moto_lock import serialize_dynamodb
from tests.support import ADMIN, ORDER, activate, as_admin, order, token_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _invoices(stack, subscription_id):
    items, _ = stack.container.invoices.list_invoices(subscription_id, 50, None)
    return items


def _activate_as(stack, subscription_id, email):
    stack.container.activation.activate_in_portal(
        as_admin(stack.container, email, subscription_id, active=False),
        accepted=True,
        agreement_version="FR-fr-2026.1",
        context=RequestContext("1.1.1.1", "test"),
    )


def _orders(stack, count, prefix="P"):
    return [
        jobs.receive_order(
            order(order_id=f"{prefix}-{n}", admin={"email": f"{prefix.lower()}{n}@example.fr", "name": "A"})
        ).subscription_id
        for n in range(count)
    ]


def test_portal_activation_issues_the_first_invoice_for_the_first_term(stack, client, pending):
    response = client.http.post(
        f"/subscriptions/{pending}/activation",
        body=json.dumps({"accept_agreement": True, "agreement_version": "FR-fr-2026.1"}),
        headers={**stack.issuer.bearer(ADMIN, "FR"), "Content-Type": "application/json"},
    )
    assert response.status_code == 200

    [invoice] = _invoices(stack, pending)
    shown = invoice_to_json(invoice)
    assert shown["number"] == "FR-2026-000001"
    assert shown["kind"] == "initial"
    assert shown["issue_date"] == "2026-11-26" and shown["issued_at"] == "2026-11-26T10:00:00.000Z"
    assert shown["due_date"] == "2026-12-26"  # the FR sample seller's 30 days
    assert shown["period"] == {"start": "2026-11-26", "end": "2027-11-25"}  # the day before the first renewal date
    assert (shown["net_amount"], shown["tax_rate"], shown["tax_amount"], shown["total_amount"]) == (
        "2250.00",
        "20.00",
        "450.00",
        "2700.00",
    )
    assert shown["lines"] == [
        {
            "product_code": "PROFIS-ENG",
            "description": "PROFIS Engineering Suite, 12 mois",
            "quantity": 5,
            "unit_price": "450.00",
            "amount": "2250.00",
            "period": {"start": "2026-11-26", "end": "2027-11-25"},
            "tax_category": "S",
            "tax_rate": "20.00",
        }
    ]
    assert shown["buyer"] == {
        "id": "0001234567",
        "name": "Dupont BTP SARL",
        "vat_id": None,
        # the order's address (required since DESIGN 15; this was None when intake took orders without one)
        "address": {"lines": ["12 rue des Artisans"], "postal_code": "69002", "city": "Lyon", "country": "FR"},
        "country": "FR",
    }
    assert shown["po_number"] == "PO-7781" and shown["payment_method"] == {"type": "invoice"}
    assert stack.subscriptions.get_subscription(pending).next_renewal_date == date(2027, 11, 26)
    assert stack.container.invoices.get_invoice(pending, invoice.id) == invoice


def test_the_emailed_link_issues_the_first_invoice_too(stack, client):
    subscription_id = jobs.receive_order(ORDER).subscription_id
    token = token_of(stack.sent()[0])
    response = client.http.post(
        f"/activate/{token}", body="accept=yes&agreement_version=FR-fr-2026.1", headers=FORM
    )
    assert response.status_code == 200

    [invoice] = _invoices(stack, subscription_id)
    assert invoice.number == "FR-2026-000001" and invoice.kind == "initial"
    assert invoice.period.start == date(2026, 11, 26)
    subjects = [m["Subject"] for m in stack.mails_to(ADMIN)]
    assert subjects.count("Facture FR-2026-000001 pour PROFIS Engineering Suite") == 1


def test_numbers_follow_the_order_of_issue_per_series(stack):
    ids = _orders(stack, 3)
    for n, subscription_id in enumerate(ids):
        _activate_as(stack, subscription_id, f"p{n}@example.fr")
    numbers = [_invoices(stack, i)[0].number for i in ids]
    assert numbers == ["FR-2026-000001", "FR-2026-000002", "FR-2026-000003"]


def test_another_country_and_another_year_start_their_own_series(stack):
    de = jobs.receive_order(
        order(order_id="DE-1", country="DE", locale="de-DE", admin={"email": "d@example.de", "name": "D"})
    ).subscription_id
    fr = _orders(stack, 1)[0]
    from chalicelib.domain.models import Role
    from chalicelib.services.identity import Caller

    admin = stack.container.access.authorize(Caller("d@example.de", "DE"), de, role=Role.ADMIN, active=False)
    stack.container.activation.activate_in_portal(
        admin, accepted=True, agreement_version="DE-de-2026.1", context=RequestContext("1.1.1.1", "t")
    )
    stack.clock.advance(days=40)  # 2027-01-05
    _activate_as(stack, fr, "p0@example.fr")

    assert _invoices(stack, de)[0].number == "DE-2026-000001"
    assert _invoices(stack, fr)[0].number == "FR-2027-000001"


def test_twenty_parallel_activations_in_one_country_issue_twenty_consecutive_numbers(stack, monkeypatch):
    serialize_dynamodb()  # moto made atomic like DynamoDB (plain moto is not under threads)
    # The emails (and their 20 PDF renders) stay in the outbox: the numbering is the subject here.
    monkeypatch.setattr(type(stack.container.delivery), "deliver_now", lambda self, emails: None)
    ids = _orders(stack, 20)
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        start.wait()
        try:
            _activate_as(stack, ids[n], f"p{n}@example.fr")
        except BaseException as error:  # any failure fails the test below
            errors.append(error)

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(run, range(20)))

    assert errors == []
    numbers = sorted(invoice.number for i in ids for invoice in _invoices(stack, i))
    assert numbers == [f"FR-2026-{n:06d}" for n in range(1, 21)]
    counter = stack.ddb.get_item(TableName="portal-test", Key={"PK": {"S": "SERIES#FR-2026"}, "SK": {"S": "SERIES"}})
    assert counter["Item"]["last_number"] == {"N": "20"}


def test_a_cancelled_transaction_consumes_no_number(stack, monkeypatch):
    first, second = _orders(stack, 2)
    real_commit = UnitOfWork.commit
    calls = {"n": 0}

    def failing_once(self):
        calls["n"] += 1
        if calls["n"] == 1:  # after the number was read and the transaction built: DynamoDB refuses it
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "TransactWriteItems")
        return real_commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", failing_once)
    with pytest.raises(ClientError):
        _activate_as(stack, first, "p0@example.fr")
    assert _invoices(stack, first) == []
    assert stack.subscriptions.get_subscription(first).status.value == "pending_activation"

    _activate_as(stack, second, "p1@example.fr")
    _activate_as(stack, first, "p0@example.fr")  # the retry

    assert _invoices(stack, second)[0].number == "FR-2026-000001"
    assert _invoices(stack, first)[0].number == "FR-2026-000002"


def test_a_number_taken_meanwhile_is_retried_with_the_next_one(stack, monkeypatch):
    first, second = _orders(stack, 2)
    store = stack.container.invoices
    real_last = type(store).last_number
    stale = {"left": 1}

    def last_number(self, series):
        value = real_last(self, series)
        if stale["left"] and value == 1:  # read before the other activation committed
            stale["left"] -= 1
            return 0
        return value

    _activate_as(stack, first, "p0@example.fr")
    monkeypatch.setattr(type(store), "last_number", last_number)
    _activate_as(stack, second, "p1@example.fr")

    assert stale["left"] == 0  # the stale read happened and lost on the counter's condition
    assert _invoices(stack, second)[0].number == "FR-2026-000002"


def test_reactivation_and_retries_issue_no_second_invoice(stack, client, pending):
    _activate_as(stack, pending, ADMIN)
    with pytest.raises(AlreadyActive):
        _activate_as(stack, pending, ADMIN)
    token_mail = stack.sent()[0]
    page = client.http.post(
        f"/activate/{token_of(token_mail)}", body="accept=yes&agreement_version=FR-fr-2026.1", headers=FORM
    )
    assert page.status_code == 200

    assert [i.number for i in _invoices(stack, pending)] == ["FR-2026-000001"]
    counter = stack.ddb.get_item(TableName="portal-test", Key={"PK": {"S": "SERIES#FR-2026"}, "SK": {"S": "SERIES"}})
    assert counter["Item"]["last_number"] == {"N": "1"}


def test_the_issuer_reports_an_invoiced_term_as_already_issued(stack, pending):
    from chalicelib.domain.errors import WriteConflict
    from chalicelib.services.ports.invoices import INVOICE_LABEL

    activate(stack, pending)
    subscription = stack.subscriptions.get_subscription(pending)
    issuer = stack.container.invoice_issuer

    with pytest.raises(WriteConflict) as conflict:
        issuer.issue(
            subscription,
            period_start=date(2026, 11, 26),
            period_end=date(2027, 11, 25),
            kind="initial",
            now=stack.clock.now(),
        )
    assert INVOICE_LABEL in conflict.value.failed
    assert issuer.invoice_for_term(pending, date(2026, 11, 26)).number == "FR-2026-000001"
    assert len(_invoices(stack, pending)) == 1


def test_a_later_po_change_leaves_the_issued_invoice_as_it_was(stack, client, active):
    before = _invoices(stack, active)[0]
    response = client.http.patch(
        f"/subscriptions/{active}",
        body=json.dumps({"po_number": "PO-NEW-1"}),
        headers={**stack.issuer.bearer(ADMIN, "FR"), "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert stack.subscriptions.get_subscription(active).po_number == "PO-NEW-1"
    after = _invoices(stack, active)[0]
    assert after == before and after.po_number == "PO-7781"


def test_intake_rejects_an_order_for_a_country_without_a_seller(stack):
    from chalicelib.domain.errors import OrderRejected

    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(order(order_id="PL-1", country="PL", locale="pl-PL"))
    assert rejected.value.reasons == [
        "country PL: no selling company is configured there, so it cannot be invoiced"
    ]
    assert stack.container.orders.get_order("PL-1") is None
    assert stack.sent() == []


def test_reverse_charge_for_an_eu_buyer_with_a_vat_id_in_another_country(stack):
    customer = {
        "id": "BE-77",
        "name": "Bouw NV",
        "vat_id": "BE 0123.456.789",
        "address": {"lines": ["Rue de la Loi 16"], "postal_code": "1000", "city": "Bruxelles", "country": "BE"},
    }
    subscription_id = jobs.receive_order(order(order_id="RC-1", customer=customer)).subscription_id
    stored = stack.subscriptions.get_subscription(subscription_id).customer
    assert stored.vat_id == "BE0123456789" and stored.address.city == "Bruxelles"
    _activate_as(stack, subscription_id, ADMIN)

    [invoice] = _invoices(stack, subscription_id)
    shown = invoice_to_json(invoice)
    assert (shown["tax_rate"], shown["tax_amount"], shown["total_amount"]) == ("0.00", "0.00", "2250.00")
    assert shown["buyer"]["vat_id"] == "BE0123456789"
    assert shown["buyer"]["address"] == {
        "lines": ["Rue de la Loi 16"],
        "postal_code": "1000",
        "city": "Bruxelles",
        "country": "BE",
    }
    from chalicelib.adapters.einvoice import semantic_of, serialize

    xml = serialize("cii", semantic_of(invoice)).decode()
    assert "<ram:CategoryCode>AE</ram:CategoryCode>" in xml and "BE0123456789" in xml


def test_intake_refuses_a_malformed_buyer_vat_id_or_address(stack):
    from chalicelib.domain.errors import OrderRejected

    customer = {"id": "1", "name": "X", "vat_id": "12", "address": {"lines": ["a"], "country": "XX"}}
    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(order(order_id="BAD-1", customer=customer))
    assert any(r.startswith("customer.vat_id: VAT identifier must be") for r in rejected.value.reasons)
    assert any(r.startswith("customer.address.country:") for r in rejected.value.reasons)
    assert stack.container.orders.get_order("BAD-1") is None


@pytest.mark.parametrize(
    ("customer", "currency", "category", "tax_currency"),
    [
        (  # a Swiss business: outside the scope of French VAT (CGI art. 259-1)
            {"id": "CH-12", "name": "Bau Zürich AG", "vat_id": "CHE-116.281.710",
             "address": {"lines": ["Bahnhofstrasse 1"], "postal_code": "8001", "city": "Zürich", "country": "CH"}},
            "EUR", "O", None,
        ),
        (  # a French business invoiced in USD: the VAT is stated in EUR too, at the seller's rate of the issue date
            {"id": "FR-12", "name": "Dupont BTP SARL", "vat_id": "FR44732829320",
             "address": {"lines": ["3 place Bellecour"], "postal_code": "69002", "city": "Lyon", "country": "FR"}},
            "USD", "S", {"code": "EUR", "rate": "0.8600", "tax_amount": "387.00"},
        ),
    ],
)  # fmt: skip
def test_an_order_through_intake_gets_the_vat_and_reform_data_the_french_rules_require(
    stack, customer, currency, category, tax_currency
):
    from chalicelib.adapters.einvoice import semantic_of, serialize
    from devstack import einvoice_rules

    subscription_id = jobs.receive_order(
        order(order_id=f"REFORM-{customer['id']}", customer=customer, currency=currency)
    ).subscription_id
    _activate_as(stack, subscription_id, ADMIN)
    [invoice] = _invoices(stack, subscription_id)
    shown = invoice_to_json(invoice)
    assert (invoice.tax_breakdown[0].category, shown["currency"], shown["tax_currency"]) == (
        category, currency, tax_currency,
    )  # fmt: skip
    if category == "O":
        assert (shown["tax_amount"], shown["total_amount"]) == ("0.00", shown["net_amount"])
    xml = serialize("cii", semantic_of(invoice))
    assert einvoice_rules.blocking(xml, einvoice_rules.rule_sets_for("cii", french_seller=True)) == []
