"""Invoices written before the document model (tests/fixtures/legacy_invoices.json, captured with that code): their
stored DynamoDB items still decode, and they render to the very same PDF bytes."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.adapters.dynamodb import invoice_schema, schema
from chalicelib.adapters.pdf.facturx_pdf import render_facturx_pdf as render_invoice_pdf
from chalicelib.domain.billing.json import invoice_from_record, invoice_to_json
from tests.test_billing_document import LEGACY, LEGACY_CASES, shown_as_then


@pytest.mark.parametrize("case", LEGACY_CASES)
@pytest.mark.parametrize("item", ["item_by_term", "item_by_id"])
def test_a_stored_legacy_item_decodes_to_the_document_of_its_record(case, item):
    decoded = invoice_schema.invoice_from(schema.load(LEGACY[case][item]))
    assert decoded == invoice_from_record(LEGACY[case]["record"])
    assert shown_as_then(invoice_to_json(decoded), LEGACY[case]["json"]) == LEGACY[case]["json"]


@pytest.mark.parametrize("case", LEGACY_CASES)
def test_a_legacy_invoice_renders_the_same_pdf_bytes(case):
    pdf = render_invoice_pdf(invoice_from_record(LEGACY[case]["record"]))
    assert hashlib.sha256(pdf).hexdigest() == LEGACY[case]["pdf_sha256"]


def test_plain_turns_whole_numbers_into_ints_and_never_truncates_the_others():
    from decimal import Decimal

    loaded = schema.load(schema.dump({"n": 5, "x": Decimal("1.5"), "nested": [{"q": Decimal("30")}]}))
    assert schema.plain(loaded) == {"n": 5, "x": Decimal("1.5"), "nested": [{"q": 30}]}
    assert type(schema.plain(loaded)["n"]) is int
