"""Where documents are stored (adapters/dynamodb/invoice_schema.py): the guard is keyed by the cause, each document is
stored once under its id, and invoices written in the layout before it (the invoice under its term and again under
its id, single-rate records) are still found by every read: list, detail, PDF download, invoice_for_term."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from chalicelib import jobs
from chalicelib.adapters.dynamodb import invoice_schema, schema
from chalicelib.domain.billing.document import Buyer
from chalicelib.domain.billing.json import invoice_to_json, invoice_to_record
from chalicelib.domain.billing.sellers import Seller
from chalicelib.domain.errors import WriteConflict
from chalicelib.services.ports.invoices import INVOICE_LABEL
from tests.support import ADMIN, TABLE, activate, order
from tests.test_billing_document import LEGACY
from tests.test_billing_domain import make_invoice

FIRST_TERM = date(2026, 11, 26)
# Seller settings added since the fixture was captured: the records written before them lack these keys.
SELLER_FIELDS_ADDED_SINCE = (
    "einvoice", "siren", "siret", "electronic_address", "contact", "accounting_currency", "currencies",
    "exchange_rates", "vat_on_debits",
)  # fmt: skip
BUYER_FIELDS_ADDED_SINCE = ("siren", "electronic_address")
RENEWAL_TERM = date(2027, 11, 26)


def _legacy_record(invoice) -> dict:
    """The record the single-rate code wrote for the same invoice (header rate and reverse charge, bare lines)."""
    record = invoice_to_record(invoice)
    for new_field in ("type", "tax_breakdown", "cancels", "replaces", "tax_currency"):
        del record[new_field]
    for new_field in SELLER_FIELDS_ADDED_SINCE:
        del record["seller"][new_field]
    record["seller"]["legal_mentions"] = {  # plain strings: the subject codes came later
        language: [mention if isinstance(mention, str) else mention["text"] for mention in mentions]
        for language, mentions in record["seller"]["legal_mentions"].items()
    }
    for new_field in BUYER_FIELDS_ADDED_SINCE:
        del record["buyer"][new_field]
    record["lines"] = [
        {key: line[key] for key in ("product_code", "description", "quantity", "unit_price", "amount")}
        for line in record["lines"]
    ]
    record.update(tax_rate=f"{invoice.tax_rate:.2f}", reverse_charge=invoice.reverse_charge)
    return record


def _as_a_legacy_record_holds_it(invoice):
    """The invoice as read back from a legacy record: its seller without the settings added since (their defaults)."""
    defaults: dict = {name: Seller.model_fields[name].default for name in SELLER_FIELDS_ADDED_SINCE}
    # the legacy writer wrote the mentions as plain strings: their subject codes came later
    defaults["legal_mentions"] = tuple(
        (language, tuple(mention.model_copy(update={"subject": None}) for mention in mentions))
        for language, mentions in invoice.seller.legal_mentions
    )
    buyer_defaults = {name: Buyer.model_fields[name].default for name in BUYER_FIELDS_ADDED_SINCE}
    return invoice.model_copy(
        update={
            "seller": invoice.seller.model_copy(update=defaults),
            "buyer": invoice.buyer.model_copy(update=buyer_defaults),
        }
    )


def test_the_legacy_writer_of_these_tests_is_the_one_the_fixture_captured():
    assert _legacy_record(make_invoice()) == LEGACY["fr_domestic_fr"]["record"]
    reverse = make_invoice(country="DE", language="de", buyer_address_country="FR", buyer_vat_id="FR12345678901",
                           kind="renewal")  # fmt: skip
    assert _legacy_record(reverse) == LEGACY["de_reverse_charge_to_fr"]["record"]


def _items(stack, subscription_id: str) -> dict[str, dict]:
    response = stack.ddb.query(
        TableName=TABLE, KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": schema.subscription_partition(subscription_id)}},
    )  # fmt: skip
    return {item["SK"]["S"]: schema.load(item) for item in response["Items"] if "INVOICE" in item["SK"]["S"]}


def _rewrite_in_the_legacy_layout(stack, subscription_id: str) -> None:
    """What the code before causes stored for the subscription's first invoice: the full record under its term and
    again under its id."""
    invoice = stack.container.invoices.invoice_for_term(subscription_id, FIRST_TERM)
    common = {"type": "invoice", "invoice_id": invoice.id, "number": invoice.number,
              "invoice": _legacy_record(invoice)}  # fmt: skip
    for key in (invoice_schema.term_cause_key(subscription_id, FIRST_TERM),
                invoice_schema.document_key(subscription_id, invoice.id)):  # fmt: skip
        stack.ddb.put_item(TableName=TABLE, Item=schema.dump({**key, **common}))


def _activated(stack) -> str:
    subscription_id = jobs.receive_order(order()).subscription_id
    activate(stack, subscription_id)
    return subscription_id


def test_a_document_is_stored_once_by_id_and_its_term_guard_holds_only_its_id(stack):
    subscription_id = _activated(stack)
    invoice = stack.container.invoices.invoice_for_term(subscription_id, FIRST_TERM)
    items = _items(stack, subscription_id)
    assert set(items) == {f"INVOICE#{FIRST_TERM.isoformat()}", f"INVOICEID#{invoice.id}"}
    guard = items[f"INVOICE#{FIRST_TERM.isoformat()}"]
    assert "invoice" not in guard and guard["documents"] == [invoice.id]
    assert items[f"INVOICEID#{invoice.id}"]["invoice"]["tax_breakdown"][0]["tax_amount"] == "450.00"  # a string


def test_invoices_of_the_legacy_layout_are_found_by_every_read(stack, client):
    subscription_id = _activated(stack)
    issued = _as_a_legacy_record_holds_it(stack.container.invoices.invoice_for_term(subscription_id, FIRST_TERM))
    _rewrite_in_the_legacy_layout(stack, subscription_id)
    assert "invoice" in _items(stack, subscription_id)[f"INVOICE#{FIRST_TERM.isoformat()}"]  # the old shape indeed

    store = stack.container.invoices
    assert store.invoice_for_term(subscription_id, FIRST_TERM) == issued
    assert store.get_invoice(subscription_id, issued.id) == issued
    headers = stack.issuer.bearer(ADMIN, "FR")
    listed = client.http.get(f"/subscriptions/{subscription_id}/invoices", headers=headers)
    assert json.loads(listed.body)["items"] == [invoice_to_json(issued)]
    detail = client.http.get(f"/subscriptions/{subscription_id}/invoices/{issued.id}", headers=headers)
    assert json.loads(detail.body) == invoice_to_json(issued)
    pdf = client.http.get(f"/subscriptions/{subscription_id}/invoices/{issued.id}/pdf",
                          headers={**headers, "Accept": "application/pdf"})  # fmt: skip
    assert pdf.status_code == 200

    # A term invoiced in the legacy layout refuses a second invoice: the guard's key is that term item's key.
    subscription = stack.subscriptions.get_subscription(subscription_id)
    issuer = stack.container.invoice_issuer
    with pytest.raises(WriteConflict) as conflict:
        issuer.issue(subscription, period_start=FIRST_TERM, period_end=date(2027, 11, 25), kind="initial",
                     now=stack.clock.now())
    assert INVOICE_LABEL in conflict.value.failed

    # The next term is issued in the new layout; the list mixes both, newest period first.
    stack.clock.moment = datetime(2027, 11, 26, 6, 0, tzinfo=UTC)
    stack.run_job("process_renewals", 900.0)
    renewal = store.invoice_for_term(subscription_id, RENEWAL_TERM)
    assert renewal is not None and renewal.number == "FR-2027-000001"
    assert [i.id for i in store.list_invoices(subscription_id, 10, None)[0]] == [renewal.id, issued.id]
    first_page, cursor = store.list_invoices(subscription_id, 1, None)
    assert [i.id for i in first_page] == [renewal.id] and cursor is not None
    assert [i.id for i in store.list_invoices(subscription_id, 1, cursor)[0]] == [issued.id]
