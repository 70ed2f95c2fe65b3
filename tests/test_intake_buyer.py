"""Intake requires what every document needs (DESIGN 4, 15.3; issue 14 items 3 and 5): the buyer's postal address, a
valid SIREN and electronic address when given, the identifiers the buyer's country and the seller's documents need,
a currency the seller invoices in, and only characters the PDFs print. Every refusal names the field and writes
nothing."""

from __future__ import annotations

import io
import json
import re

import pytest

from chalicelib import jobs
from chalicelib.domain.errors import OrderRejected
from tests.support import ADMIN, DELETE, activate, customer, order

_BE_SELLER = {"country": "BE", "locale": "fr-BE"}


def _rejected(stack, message: dict) -> list[str]:
    with pytest.raises(OrderRejected) as rejected:
        jobs.receive_order(message)
    assert stack.container.orders.get_order(message["order_id"]) is None  # never half-written
    assert stack.sent() == []
    return list(rejected.value.reasons)


def _stored_customer(stack, message: dict):
    result = jobs.receive_order(message)
    assert result.created
    return stack.subscriptions.get_subscription(result.subscription_id).customer


def _address(**changes):
    address = {"lines": ["12 rue des Artisans"], "postal_code": "69002", "city": "Lyon", "country": "FR"}
    address.update(changes)
    return {key: value for key, value in address.items() if value is not DELETE}


# ------------------------------------------------------------------------------------------------- postal address


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (DELETE, "customer.address is required"),
        (_address(lines=[]), "customer.address.lines: 1 to 4 street lines are required"),
        (_address(lines=["a", "b", "c", "d", "e"]), "customer.address.lines: 1 to 4 street lines are required"),
        (_address(lines=["  "]), "customer.address.lines.0: address line must not be empty"),
        (_address(city=DELETE), "customer.address.city is required"),
        (_address(postal_code=DELETE), "customer.address.postal_code: a postal code is required for an address in FR"),
        (_address(postal_code="6900"), "customer.address.postal_code: '6900' is not a postal code of FR"),
        (_address(country="DE", postal_code="D-80331"), "customer.address.postal_code: 'D-80331' is not a postal code"),
        (_address(country="XX"), "customer.address.country: 'XX' is not an ISO 3166-1 alpha-2 country code"),
        (_address(floor=3), "customer.address.floor: unknown field"),
        ("Lyon", "customer.address: must be an object"),
    ],
)
def test_an_order_without_a_complete_buyer_address_is_refused_naming_the_field(stack, address, reason):
    buyer = customer()
    if address is DELETE:
        del buyer["address"]
    else:
        buyer["address"] = address
    reasons = _rejected(stack, order(order_id="ADDR-1", customer=buyer))
    assert any(r.startswith(reason) for r in reasons), reasons


def test_four_address_lines_and_a_country_without_postal_codes_are_accepted(stack):
    four = _stored_customer(stack, order(customer=customer(address=_address(lines=["1", "2", "3", "4"]))))
    assert four.address.lines == ("1", "2", "3", "4")
    hong_kong = {"lines": ["1 Queen's Road Central"], "city": "Hong Kong", "country": "HK"}
    without_code = _stored_customer(stack, order(order_id="HK-1", customer=customer(address=hong_kong)))
    assert without_code.address.postal_code is None and without_code.address.city == "Hong Kong"


# ----------------------------------------------------------------------------------------------- SIREN and address


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"siren": "99900001"}, "customer.siren: a SIREN is exactly 9 digits"),
        ({"siren": "999000012"}, "customer.siren: 999000012 is not a valid SIREN (its check digit is wrong)"),
        ({"siren": 999000011}, "customer.siren: must be a string of 9 digits"),
        ({"electronic_address": {"scheme": "1234", "id": "x"}}, "customer.electronic_address: scheme '1234' is not"),
        ({"electronic_address": {"scheme": "0225", "id": "999000012"}},
         "customer.electronic_address: electronic address under scheme 0225: 999000012 is not a valid SIREN"),
        ({"electronic_address": {"scheme": "0208", "id": "0999000031"}},
         "customer.electronic_address: electronic address under scheme 0208: 0999000031 is not a valid Belgian"),
        ({"electronic_address": {"scheme": "9930", "id": "DE 123"}}, "customer.electronic_address: an electronic"),
        ({"electronic_address": "0225:999000011"}, "customer.electronic_address: must be an object"),
        ({"electronic_address": {"scheme": "0225", "id": "999000011", "x": 1}}, "customer.electronic_address: must"),
    ],
)
def test_a_malformed_siren_or_electronic_address_is_refused_naming_the_field(stack, changes, reason):
    reasons = _rejected(stack, order(order_id="ID-1", customer=customer(**changes)))
    assert any(r.startswith(reason) for r in reasons), reasons


def test_the_siren_and_electronic_address_given_are_kept(stack):
    given = customer(siren="999 000 011", electronic_address={"scheme": "0225", "id": "999000011_ACHATS"})
    stored = _stored_customer(stack, order(customer=given))
    assert stored.siren == "999000011"
    assert (stored.electronic_address.scheme, stored.electronic_address.id) == ("0225", "999000011_ACHATS")


def test_a_french_buyer_needs_a_siren_or_a_french_vat_id(stack):
    without = customer()
    del without["siren"]
    reasons = _rejected(stack, order(order_id="FR-NOSIREN", customer=without))
    assert reasons == [
        "customer.siren is required for a buyer in France (or a French VAT id in customer.vat_id): French invoices "
        "state the buyer's SIREN"
    ]
    # A French seller's other buyers need neither: a German buyer's address comes from its VAT id when it has one.
    assert jobs.receive_order(order(order_id="FR-DE", customer=customer("DE"))).created
    # The French VAT id carries the SIREN.
    with_vat_id = dict(without, vat_id="FR66999000011")
    assert _stored_customer(stack, order(order_id="FR-VAT", customer=with_vat_id)).vat_id == "FR66999000011"


def test_a_siren_that_is_not_the_one_in_the_french_vat_id_is_refused(stack):
    reasons = _rejected(stack, order(order_id="FR-TWO", customer=customer(siren="999000003", vat_id="FR66999000011")))
    assert reasons == [
        "customer.siren: 999000003 is not the SIREN in customer.vat_id (999000011); they must name the same company"
    ]


def test_a_peppol_seller_refuses_a_buyer_it_cannot_address(stack):
    nowhere = customer("BE")
    del nowhere["electronic_address"]
    reasons = _rejected(stack, order(order_id="BE-1", **_BE_SELLER, customer=nowhere))
    assert reasons == [
        "customer.electronic_address is required: the BE seller sends Peppol BIS (UBL) documents to the buyer's "
        "electronic address, and none can be derived from the order (give customer.electronic_address, or a VAT id "
        "or SIREN it derives from)"
    ]
    # The enterprise number in a Belgian VAT id gives the address (0208); an address given is kept as given.
    assert jobs.receive_order(order(order_id="BE-2", **_BE_SELLER, customer=dict(nowhere, vat_id="BE0999000030")))
    assert _stored_customer(stack, order(order_id="BE-3", **_BE_SELLER, customer=customer("BE"))).electronic_address


def test_the_buyer_address_intake_requires_is_the_one_the_invoice_carries(stack):
    """What intake checked derivable is what the document states (buyer_of), for the French seller's buyer."""
    from chalicelib.domain.billing.pricing import buyer_of

    buyer_given = dict(customer(), siren=None, vat_id="FR66999000011")
    result = jobs.receive_order(order(order_id="FR-BT49", customer=buyer_given))
    buyer = buyer_of(stack.subscriptions.get_subscription(result.subscription_id))
    assert buyer.siren == "999000011"
    assert (buyer.electronic_address.scheme, buyer.electronic_address.id) == ("0225", "999000011")


# ----------------------------------------------------------------------------------------------------- currency


def test_a_currency_the_seller_does_not_invoice_in_is_refused_naming_those_it_does(stack):
    reasons = _rejected(stack, order(order_id="FR-GBP", currency="GBP"))
    assert reasons == ["currency: the FR seller invoices in EUR, USD only, not GBP"]
    assert jobs.receive_order(order(order_id="FR-USD", currency="USD")).created


@pytest.mark.parametrize("currency", ["BGN", "ANG"])
def test_issue_17_currencies_no_document_can_carry_stay_refused_before_any_seller_rule(stack, currency):
    """Issue 17 defect 1: the reference table refuses them first, whatever the seller."""
    reasons = _rejected(stack, order(order_id="CUR-1", currency=currency))
    assert reasons == [f"currency: '{currency}' is not an ISO 4217 currency code (e.g. EUR)"]


def test_every_problem_of_the_customer_is_reported_at_once(stack):
    bad = {"id": "", "name": "X", "siren": "1", "address": {"lines": [], "country": "FR"}}
    reasons = _rejected(stack, order(order_id="ALL-1", customer=bad))
    assert [r.split(":")[0].split(" ")[0] for r in reasons] == [
        "customer.id", "customer.address.lines", "customer.address.city", "customer.address.postal_code",
        "customer.siren",
    ]


# ----------------------------------------------------------------------------------------- characters on the PDF

JAPANESE = "日本建設株式会社"
ARABIC = "شركة البناء"


@pytest.mark.parametrize(
    ("changes", "field", "named"),
    [
        ({"customer": customer(name=JAPANESE)}, "customer.name", "日 (U+65E5 CJK UNIFIED IDEOGRAPH-65E5)"),
        ({"customer": customer(name=ARABIC)}, "customer.name", "ش (U+0634 ARABIC LETTER SHEEN)"),
        ({"customer": customer(address=_address(lines=["東京都港区1-1"]))}, "customer.address.lines.0", "東 (U+6771"),
        ({"customer": customer(address=_address(city="תל אביב"))}, "customer.address.city", "ת (U+05EA"),
        ({"po_number": "PO-日本"}, "po_number", "日 (U+65E5"),
        ({"product": {"code": "P", "name": "ソフト"}}, "product.name", "ソ (U+30BD"),
        ({"admin": {"email": "a@example.jp", "name": "山田"}}, "admin.name", "山 (U+5C71"),
    ],
)
def test_characters_the_pdf_cannot_print_are_refused_naming_them(stack, changes, field, named):
    reasons = _rejected(stack, order(order_id="CJK-1", **changes))
    [reason] = [r for r in reasons if r.startswith(f"{field}:")]
    assert "cannot print" in reason and named in reason, reason


def test_a_po_number_the_pdf_cannot_print_is_refused_by_the_patch_and_nothing_changes(client, stack, active):
    from tests.test_administration import body_of, call

    response = call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-日本"})
    assert response.status_code == 400
    assert "日 (U+65E5" in body_of(response)["Message"] and "本 (U+672C" in body_of(response)["Message"]
    assert stack.subscriptions.get_subscription(active).po_number == "PO-7781"


NON_LATIN = {
    "name": "Ελληνικά Τεχνικά Α.Ε. — ООО «Стройка» — Nguyễn Đức Thắng",
    "line": "Ulица Łódzka 5, Ґанок",
    "city": "Київ",
    "po": "ΑΒΓ-ЖЗ-ễ-№5",
}


def test_a_name_outside_latin_that_intake_accepts_is_printed_in_the_pdf_text_layer(stack):
    from pypdf import PdfReader

    buyer = customer("DE", name=NON_LATIN["name"], address={
        "lines": [NON_LATIN["line"]], "postal_code": "70565", "city": NON_LATIN["city"], "country": "DE"})
    subscription_id = jobs.receive_order(order(customer=buyer, po_number=NON_LATIN["po"])).subscription_id
    activate(stack, subscription_id)
    [invoice], _ = stack.container.invoices.list_invoices(subscription_id, 5, None)
    pdf = stack.container.invoice_documents.pdf_of(invoice)
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    for value in NON_LATIN.values():
        assert value in text, (value, text)


def test_the_committed_coverage_table_is_the_fonts_own():
    from chalicelib.domain.document_text_coverage import __file__ as table
    from tools.font_coverage import rendered

    with open(table, encoding="utf-8") as committed:
        assert committed.read() == rendered(), "run `python -m tools.font_coverage` and commit the table"


def test_the_check_agrees_with_the_fonts_glyph_by_glyph():
    """Every character the check passes has a glyph in both fonts; each one it refuses lacks one or is right to left."""
    import unicodedata

    from fontTools.ttLib import TTFont

    from chalicelib.domain.document_text import prints
    from tools.font_coverage import FONTS

    cmaps = [set(TTFont(font, lazy=True).getBestCmap()) for font in FONTS]
    for code in range(0x20, 0x3100):
        in_fonts = all(code in cmap for cmap in cmaps) and unicodedata.bidirectional(chr(code)) not in ("R", "AL", "AN")
        assert prints(chr(code)) == in_fonts, hex(code)


def test_the_schema_tells_the_order_system_what_intake_requires():
    from chalicelib.domain.order_schema import json_schema

    schema = json_schema()
    customer_schema = schema["$defs"]["CustomerMessage"]
    assert "address" in customer_schema["required"]
    assert {"siren", "electronic_address"} <= set(customer_schema["properties"])
    assert json.dumps(schema).count('"const": "FR"') == 1  # the French postal-code rule
    assert ADMIN  # the sample admin stays the tests' admin
