"""The billing document without moto (DESIGN 14.3, 15.1): lines with their own VAT, the breakdown per category and
rate with EN 16931's rounding, totals checked on construction, and the records the single-rate code wrote."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.domain.billing.document import DocumentReference, Invoice, InvoiceLine, Period
from chalicelib.domain.billing.json import invoice_from_record, invoice_to_json, invoice_to_record
from chalicelib.domain.billing.numbering import series_for
from chalicelib.domain.billing.pricing import price_term
from chalicelib.domain.billing.tax import (
    REVERSE_CHARGE_CODE,
    Exemption,
    Taxed,
    exemption_for,
    exemption_texts,
    legacy_reverse_charge_exemption,
    reverse_charge_exemption,
    vat_breakdown,
)
from chalicelib.domain.billing.terms import first_term, term_starting
from tests.test_billing_domain import make_invoice

ROOT = Path(__file__).resolve().parent.parent
LEGACY = json.loads((ROOT / "tests" / "fixtures" / "legacy_invoices.json").read_text(encoding="utf-8"))
LEGACY_CASES = sorted(name for name in LEGACY if not name.startswith("_"))
# The JSON keys DESIGN 15.1 added since the fixture was captured (existing keys keep their meaning).
JSON_KEYS_ADDED_SINCE = ("type", "tax_breakdown", "corrects", "replaces", "corrected_by", "tax_currency")
LINE_KEYS_ADDED_SINCE = ("period", "tax_category", "tax_rate")


def as_captured_json(shown: dict) -> dict:
    """The invoice JSON as the fixture's code showed it: without the keys added since, which are checked apart."""
    earlier = {key: value for key, value in shown.items() if key not in JSON_KEYS_ADDED_SINCE}
    earlier["lines"] = [
        {key: value for key, value in line.items() if key not in LINE_KEYS_ADDED_SINCE} for line in shown["lines"]
    ]
    return earlier


def assert_added_keys_of_a_single_rate_invoice(shown: dict) -> None:
    assert (shown["type"], shown["corrects"], shown["replaces"], shown["corrected_by"]) == ("invoice", None, None, None)
    assert shown["tax_currency"] is None  # the fixture's invoices are in the seller's accounting currency
    [entry] = shown["tax_breakdown"]
    assert (entry["rate"], entry["tax_amount"], entry["taxable_amount"]) == (
        shown["tax_rate"], shown["tax_amount"], shown["net_amount"]
    )
    for line in shown["lines"]:
        assert line["period"] == shown["period"] and line["tax_rate"] == shown["tax_rate"]
        assert line["tax_category"] == entry["category"]
TERM = Period(start=date(2026, 12, 1), end=date(2027, 11, 30))
AE = reverse_charge_exemption("en")


def _line(net: str, category="S", rate="20.00", exemption=None, quantity=1, code="P") -> InvoiceLine:
    return InvoiceLine(
        product_code=code, description=code, quantity=quantity, unit_price=Decimal(net) / quantity,
        amount=Decimal(net), period=TERM, tax_category=category, tax_rate=Decimal(rate), exemption=exemption,
    )  # fmt: skip


def _document(*lines: InvoiceLine, **changes) -> Invoice:
    """A copy of the design's example invoice with other lines: breakdown and totals computed unless given."""
    base = make_invoice().model_dump()
    breakdown = vat_breakdown((line.taxed() for line in lines), "EUR")
    net = sum((line.amount for line in lines), Decimal("0.00"))
    tax = sum((entry.tax_amount for entry in breakdown), Decimal("0.00"))
    fields = {**base, "lines": lines, "tax_breakdown": breakdown, "net_amount": net, "tax_amount": tax,
              "total_amount": net + tax, **changes}  # fmt: skip
    return Invoice.model_validate(fields)


# ------------------------------------------------------------------------------------------------------- breakdown


def test_breakdown_has_one_entry_per_category_and_rate_in_first_seen_order():
    lines = [
        Taxed(Decimal("100.00"), "S", Decimal("20.00"), None),
        Taxed(Decimal("50.00"), "AE", Decimal("0.00"), AE),
        Taxed(Decimal("10.00"), "S", Decimal("5.50"), None),
        Taxed(Decimal("30.00"), "S", Decimal("20.00"), None),
    ]
    entries = vat_breakdown(lines, "EUR")
    assert [(e.category, str(e.rate), str(e.taxable_amount), str(e.tax_amount)) for e in entries] == [
        ("S", "20.00", "130.00", "26.00"),
        ("AE", "0.00", "50.00", "0.00"),
        ("S", "5.50", "10.00", "0.55"),
    ]
    assert entries[1].exemption == AE and entries[0].exemption is None


def test_tax_is_rounded_once_per_group_not_per_line():
    # Three lines of 0.05 at 10 %: per line 0.005 -> 0.01 each (0.03); per group 0.15 x 10 % = 0.015 -> 0.02.
    entries = vat_breakdown([Taxed(Decimal("0.05"), "S", Decimal("10.00"), None)] * 3, "EUR")
    assert [(str(e.taxable_amount), str(e.tax_amount)) for e in entries] == [("0.15", "0.02")]


def test_breakdown_in_a_zero_decimal_currency_rounds_to_whole_units():
    entries = vat_breakdown([Taxed(Decimal("1001.00"), "S", Decimal("10.00"), None)], "JPY")
    assert str(entries[0].tax_amount) == "100.00"


def test_one_group_with_two_exemption_reasons_is_refused():
    other = Exemption(code=REVERSE_CHARGE_CODE, text="something else")
    with pytest.raises(ValueError, match="different exemption reasons"):
        vat_breakdown([Taxed(Decimal(1), "AE", Decimal(0), AE), Taxed(Decimal(1), "AE", Decimal(0), other)], "EUR")


# ---------------------------------------------------------------------------------------------------------- lines


@pytest.mark.parametrize(
    ("category", "rate", "exemption", "message"),
    [
        ("S", "0.00", None, "needs a rate above 0"),
        ("S", "20.00", AE, "carries no exemption reason"),
        ("AE", "20.00", AE, "carries a 0 rate"),
        ("AE", "0.00", None, "needs an exemption reason"),
        ("O", "0.00", None, "needs an exemption reason"),
        ("S", "20.001", None, "at most 2 decimals"),
        ("X", "20.00", None, "literal_error"),
    ],
)
def test_a_line_with_an_impossible_vat_treatment_is_refused(category, rate, exemption, message):
    with pytest.raises(ValidationError, match=message):
        _line("100.00", category=category, rate=rate, exemption=exemption)


# --------------------------------------------------------------------------------------------------------- totals


def test_a_two_line_document_with_two_rates():
    document = _document(_line("100.00", code="A"), _line("33.33", rate="5.50", code="B", quantity=3))
    assert [(e.category, str(e.rate), str(e.taxable_amount), str(e.tax_amount)) for e in document.tax_breakdown] == [
        ("S", "20.00", "100.00", "20.00"),
        ("S", "5.50", "33.33", "1.83"),  # 1.833...
    ]
    assert (str(document.net_amount), str(document.tax_amount), str(document.total_amount)) == (
        "133.33", "21.83", "155.16",
    )  # fmt: skip
    assert not document.reverse_charge
    with pytest.raises(ValueError, match="2 VAT rates"):
        _ = document.tax_rate  # the 14.3 JSON has one rate: a two-rate document cannot pretend to one
    assert invoice_from_record(json.loads(json.dumps(invoice_to_record(document)))) == document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"net_amount": Decimal("99.99")}, "net amount 99.99 is not the sum of the lines"),
        ({"tax_amount": Decimal("20.01"), "total_amount": Decimal("120.01")}, "not the sum of the VAT breakdown"),
        ({"total_amount": Decimal("120.01")}, "total amount 120.01 is not net \\+ tax"),
        ({"tax_breakdown": ()}, "VAT breakdown is not the one of the lines"),
        ({"lines": ()}, "at least one line"),
    ],
)
def test_totals_that_do_not_add_up_are_refused(changes, message):
    with pytest.raises(ValidationError, match=message):
        _document(_line("100.00"), **changes)


def test_a_line_amount_that_is_not_quantity_times_price_is_refused():
    wrong = _line("100.00").model_copy(update={"amount": Decimal("100.01")})
    with pytest.raises(ValidationError, match=r"line 1: amount 100\.01"):
        _document(wrong)


def test_only_a_credit_note_cites_a_document_and_it_must():
    cited = DocumentReference(id="inv-0001", number="FR-2026-000001", issue_date=date(2026, 12, 1))
    note = _document(_line("100.00"), type="credit_note", cancels=cited, number="FR-2026-C000001")
    assert (note.type_code, note.cancels) == ("381", cited)
    assert make_invoice().type_code == "380"
    with pytest.raises(ValidationError, match="only a credit note"):
        _document(_line("100.00"), type="credit_note")
    with pytest.raises(ValidationError, match="only a credit note"):
        _document(_line("100.00"), cancels=cited)


def test_a_document_and_its_seller_are_frozen_all_the_way_down():
    invoice = make_invoice()
    with pytest.raises(ValidationError):
        invoice.net_amount = Decimal(0)  # type: ignore[misc]
    assert isinstance(invoice.seller.legal_mentions, tuple)
    assert all(isinstance(pair, tuple) and isinstance(pair[1], tuple) for pair in invoice.seller.legal_mentions)
    assert hash(invoice.seller) == hash(invoice.seller.model_copy())


def test_credit_notes_number_in_their_own_series():
    invoice, credit = series_for("invoice", "FR", 2026), series_for("credit_note", "FR", 2026)
    assert (invoice.key, invoice.number(1)) == ("FR-2026", "FR-2026-000001")
    assert (credit.key, credit.number(12)) == ("FR-2026-C", "FR-2026-C000012")
    with pytest.raises(ValueError):
        credit.number(1_000_000)


# -------------------------------------------------------------------------------------- reverse charge and records


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_every_vat_mention_is_the_sentence_the_pdf_prints(language):
    labels = json.loads((ROOT / "chalicelib" / "templates" / "i18n" / f"billing_{language}.json").read_text("utf-8"))
    texts = exemption_texts()
    assert {("FR", "AE"), ("FR", "O"), ("DE", "AE"), ("DE", "O"), ("CH", "O"), ("GB", "O")} <= set(texts)
    for (basis, category), by_language in texts.items():
        assert by_language[language] == labels["invoice"][f"vat_exemption_{basis}_{category}"], (basis, category)


def test_the_mention_cites_the_law_of_the_seller_s_country():
    french_reverse_charge = exemption_for("FR", "AE", "fr").text
    assert "259-1 du CGI" in french_reverse_charge and "283-2" not in french_reverse_charge  # outbound, not inbound
    assert "article 196 de la directive 2006/112/CE" in french_reverse_charge
    assert french_reverse_charge.startswith("Autoliquidation")
    assert "259-1 du CGI" in exemption_for("FR", "O", "fr").text
    assert "§ 13b UStG" in exemption_for("DE", "AE", "de").text
    assert exemption_for("DE", "AE", "de").text.startswith("Steuerschuldnerschaft des Leistungsempfängers")
    assert "§ 3a Abs. 2 UStG" in exemption_for("DE", "O", "de").text
    assert "Art. 8 Abs. 1 MWSTG" in exemption_for("CH", "O", "de").text
    assert "art. 8, al. 1 LTVA" in exemption_for("CH", "O", "fr").text
    assert "VATA 1994, s. 7A" in exemption_for("GB", "O", "en").text
    assert exemption_for("AT", "AE", "de") == exemption_for("IT", "AE", "de")  # the Directive, for the others
    assert (exemption_for("FR", "AE", "en").code, exemption_for("GB", "O", "fr").code) == ("VATEX-EU-AE", "VATEX-EU-O")


def test_a_reverse_charged_invoice_is_category_ae_with_its_reason_on_the_line_and_in_the_breakdown():
    invoice = make_invoice(buyer_address_country="BE", buyer_vat_id="BE0999123457", language="fr")
    (line,), (entry,) = invoice.lines, invoice.tax_breakdown
    reason = exemption_for("FR", "AE", "fr")
    assert (line.tax_category, str(line.tax_rate), line.exemption) == ("AE", "0.00", reason)
    assert (entry.category, str(entry.tax_amount), entry.exemption) == ("AE", "0.00", reason)
    assert invoice.reverse_charge and str(invoice.tax_rate) == "0.00"
    assert invoice.legal_notes[-1] == reason.text


def test_a_single_rate_record_keeps_the_reverse_charge_reason_it_was_issued_with():
    record = LEGACY["de_reverse_charge_to_fr"]["record"]
    document = invoice_from_record(record)
    assert document.tax_breakdown[0].exemption == legacy_reverse_charge_exemption(record["language"])


@pytest.mark.parametrize("case", LEGACY_CASES)
def test_a_record_written_by_the_single_rate_code_loads_as_the_same_document(case):
    legacy = LEGACY[case]
    document = invoice_from_record(legacy["record"])
    assert as_captured_json(invoice_to_json(document)) == legacy["json"]
    assert_added_keys_of_a_single_rate_invoice(invoice_to_json(document))
    assert (str(document.tax_rate), document.reverse_charge) == (legacy["record"]["tax_rate"],
                                                                   legacy["record"]["reverse_charge"])  # fmt: skip
    assert all(line.period == document.period for line in document.lines)
    # and once written again in the current layout, it reads back unchanged
    assert invoice_from_record(json.loads(json.dumps(invoice_to_record(document)))) == document


def test_the_document_built_today_equals_the_one_a_legacy_record_describes():
    from tests.test_invoice_layout import _as_a_legacy_record_holds_it

    assert invoice_from_record(LEGACY["fr_domestic_fr"]["record"]) == _as_a_legacy_record_holds_it(make_invoice())


def test_the_first_term_and_the_first_renewal_date_come_from_one_computation():
    first = first_term(date(2026, 1, 31), 1)
    assert (first.start, first.end, first.next_start) == (date(2026, 1, 31), date(2026, 2, 27), date(2026, 2, 28))
    assert term_starting(date(2026, 1, 31), date(2026, 3, 31), 1).end == date(2026, 4, 29)


def test_pricing_a_term_gives_the_invoice_s_lines_and_totals():
    invoice = make_invoice(buyer_address_country="BE", buyer_vat_id="BE0999123457", language="de")
    price = price_term(
        invoice.seller, invoice.buyer, product_code="PROFIS-ENG", product_name="PROFIS Engineering Suite", quantity=5,
        unit_price=Decimal("450.00"), currency="EUR", term_months=12, period=invoice.period, language="de-AT",
    )  # fmt: skip
    assert (price.lines, price.breakdown, price.total) == (invoice.lines, invoice.tax_breakdown, invoice.total_amount)
    assert price.treatment.reverse_charge and price.mentions == invoice.legal_notes
