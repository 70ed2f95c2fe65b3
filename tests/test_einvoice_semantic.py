"""The EN 16931 semantic invoice (issue 13 item 3): built once from the invoice, it states what the invoice JSON states,
in business terms; the syntaxes only spell it (the CII serializer is registered by name, the Factur-X PDF embeds it)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.adapters.billing_labels import labels
from chalicelib.domain.billing.document import Invoice
from chalicelib.domain.billing.json import invoice_to_json
from chalicelib.domain.einvoice import Identifier, PrecedingInvoice, semantic_invoice
from chalicelib.domain.models import PaymentMethod
from tests.test_billing_domain import make_invoice

ROOT = Path(__file__).resolve().parent.parent
CARD = PaymentMethod(
    type="card", token="tok_visa_1", brand="american_express", last4="4242", exp_month=1, exp_year=2031
)


def _semantic(invoice):
    return semantic_invoice(invoice, labels(invoice.language)["invoice"])


def test_a_domestic_invoice_states_what_its_json_states():
    invoice = make_invoice(language="en")
    body, document = invoice_to_json(invoice), _semantic(invoice)

    assert (document.number, document.issue_date.isoformat(), document.due_date.isoformat()) == (
        body["number"], body["issue_date"], body["due_date"],
    )  # fmt: skip
    assert (document.type_code, document.currency) == ("380", "EUR")
    assert document.buyer_reference == document.purchase_order == body["po_number"] == "PO-7781"
    assert (document.period.start.isoformat(), document.period.end.isoformat()) == tuple(body["period"].values())
    assert document.preceding_invoice is None
    assert (document.seller.name, document.seller.vat_id) == (body["seller"]["name"], body["seller"]["vat_id"])
    # a French seller's BT-30 is its SIREN under scheme 0002 (BR-FR-10), not the registration's free text
    assert document.seller.legal_registration == invoice.seller.siren == "999000003"
    assert document.seller.legal_registration_id == Identifier("999000003", "0002")
    buyer = document.buyer
    assert (buyer.name, buyer.identifier, buyer.vat_id) == ("Dupont BTP SARL", "0001234567", None)
    assert document.buyer.address.lines == ("3 place Bellecour",) and document.buyer.address.country == "FR"
    totals = document.totals
    assert [str(v) for v in (totals.line_net_total, totals.without_vat, totals.vat, totals.with_vat, totals.due)] == [
        body["net_amount"], body["net_amount"], body["tax_amount"], body["total_amount"], body["total_amount"],
    ]  # fmt: skip
    [vat] = document.vat_breakdown
    assert (vat.category, str(vat.rate), str(vat.taxable_amount), str(vat.tax_amount)) == (
        "S", "20.00", "2250.00", "450.00",
    )  # fmt: skip
    assert vat.exemption_reason is None and vat.exemption_reason_code is None
    [line] = document.lines
    shown = body["lines"][0]
    assert (line.identifier, line.name, line.seller_item_id, line.quantity) == (
        "1", shown["description"], shown["product_code"], shown["quantity"],
    )  # fmt: skip
    assert (str(line.net_price), str(line.net_amount), line.vat_category, str(line.vat_rate)) == (
        shown["unit_price"], shown["amount"], "S", "20.00",
    )  # fmt: skip
    assert sum((item.net_amount for item in document.lines), Decimal(0)) == totals.line_net_total
    assert document.payment_terms == "Payable within 30 days, by 2026-12-31."
    assert tuple(note.text for note in document.notes) == invoice.seller.mentions("en")
    assert [note.subject_code for note in document.notes] == ["REG", "PMD", "PMT", "AAB"]
    payment = document.payment
    assert (payment.means_code, payment.means_text, payment.remittance_information) == (
        "58", "Bank transfer", "FR-2026-000001",
    )  # fmt: skip
    assert payment.credit_transfer is not None and payment.card_last_digits is None
    assert (payment.credit_transfer.iban, payment.credit_transfer.bic) == (invoice.seller.iban, invoice.seller.bic)


def test_a_reverse_charged_invoice_is_category_ae_with_its_exemption_reason_and_mention():
    invoice = make_invoice(language="en", buyer_address_country="BE", buyer_vat_id="BE0999123457")
    document = _semantic(invoice)
    mention = labels("en")["invoice"]["vat_exemption_FR_AE"]

    [vat] = document.vat_breakdown
    assert (vat.category, str(vat.rate), str(vat.tax_amount)) == ("AE", "0.00", "0.00")
    assert (vat.exemption_reason, vat.exemption_reason_code) == (mention, "VATEX-EU-AE")
    assert {(line.vat_category, str(line.vat_rate)) for line in document.lines} == {("AE", "0.00")}
    assert document.notes[-1].text == mention and document.buyer.vat_id == "BE0999123457"


def test_a_card_payment_states_only_the_last_digits():
    document = _semantic(make_invoice(language="en", method=CARD))
    payment = document.payment
    assert (payment.means_code, payment.means_text, payment.card_last_digits) == (
        "48", "Card American Express ending in 4242", "4242",
    )  # fmt: skip
    assert payment.credit_transfer is None and payment.remittance_information is None


def test_addresses_hold_every_line_the_buyer_gave_in_en_16931s_three():
    invoice = make_invoice()
    lines = ("Dupont BTP SARL, Comptabilité", "Bâtiment B", "3 place Bellecour", "BP 1234")
    address = dataclasses.replace(invoice.buyer.address, lines=lines)
    with_four = invoice.model_copy(update={"buyer": invoice.buyer.model_copy(update={"address": address})})
    without = invoice.model_copy(update={"buyer": invoice.buyer.model_copy(update={"address": None})})

    assert _semantic(with_four).buyer.address.lines == (
        "Dupont BTP SARL, Comptabilité", "Bâtiment B", "3 place Bellecour, BP 1234",
    )  # fmt: skip
    bare = _semantic(without).buyer.address
    assert (bare.lines, bare.postal_code, bare.city, bare.country) == ((), None, None, "FR")


def test_the_semantic_model_imports_no_xml_or_pdf_library():
    script = (
        "import sys, chalicelib.domain.einvoice\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'lxml', 'facturx', 'fpdf', 'pypdf'}))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------------------- syntaxes


def test_the_cii_serializer_is_registered_by_name_and_is_what_the_factur_x_pdf_embeds():
    import facturx

    from chalicelib.adapters.einvoice import SERIALIZERS, semantic_of, serialize
    from chalicelib.adapters.pdf.facturx_pdf import render_facturx_pdf

    invoice = make_invoice()
    assert set(SERIALIZERS) == {"cii", "ubl"}
    _, embedded = facturx.get_xml_from_pdf(render_facturx_pdf(invoice), check_xsd=False)
    assert serialize("cii", semantic_of(invoice)) == embedded
    with pytest.raises(ValueError, match=r"'edifact'.*cii"):
        serialize("edifact", semantic_of(invoice))


def test_the_cii_serializer_writes_a_credit_notes_type_and_the_invoice_it_cancels():
    """No use case issues credit notes yet; a domain credit note already serializes its BT-3 381 and BG-3."""
    import facturx
    from lxml import etree

    from chalicelib.adapters.einvoice import semantic_of, serialize
    from tests.test_invoice_pdf import NS as CII

    ns = {**CII, "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}
    invoice = make_invoice()
    credit = Invoice.model_validate(
        {
            **invoice.model_dump(),
            "type": "credit_note",
            "cancels": {"id": "original", "number": "FR-2026-000001", "issue_date": "2026-12-01"},
        }
    )
    semantic = semantic_of(credit)
    assert (semantic.type_code, semantic.preceding_invoice) == (
        "381",
        PrecedingInvoice(number="FR-2026-000001", issue_date=date(2026, 12, 1)),
    )
    xml = serialize("cii", semantic)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = etree.fromstring(xml)
    assert root.xpath("//rsm:ExchangedDocument/ram:TypeCode/text()", namespaces=ns) == ["381"]
    reference = "//ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument"
    assert root.xpath(f"{reference}/ram:IssuerAssignedID/text()", namespaces=ns) == ["FR-2026-000001"]
    assert root.xpath(f"{reference}/ram:FormattedIssueDateTime/qdt:DateTimeString/text()", namespaces=ns) == [
        "20261201"
    ]
