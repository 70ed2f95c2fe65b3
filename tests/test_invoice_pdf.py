"""Invoice and agreement PDFs (DESIGN 14.4): Factur-X EN 16931, PDF/A-3B, searchable text, identical bytes."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from lxml import etree
from pypdf import PdfReader

from chalicelib.adapters.agreements import FileAgreementCatalog
from chalicelib.domain.billing.json import invoice_to_json
from chalicelib.domain.models import PaymentMethod
from tests.test_billing_domain import make_invoice

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
CARD = PaymentMethod(type="card", token="tok_visa_1", brand="visa", last4="4242", exp_month=12, exp_year=2030)
CASES = {
    "fr": {"country": "FR", "language": "fr"},
    "de_card": {"country": "DE", "language": "de", "buyer_address_country": "DE", "method": CARD},
    "reverse": {"country": "FR", "language": "en", "buyer_address_country": "BE", "buyer_vat_id": "BE0999123457"},
    "no_po": {"country": "GB", "language": "en", "buyer_address_country": "GB", "po": None},
}


@pytest.fixture(scope="module")
def rendered():
    """Import the heavy libraries and render each case once for the whole module (twice, for the bytes check)."""
    from chalicelib.adapters.pdf import facturx_pdf

    out = {}
    for name, kwargs in CASES.items():
        invoice = make_invoice(**kwargs)
        out[name] = (invoice, facturx_pdf.render_facturx_pdf(invoice), facturx_pdf.render_facturx_pdf(invoice))
    return facturx_pdf, out


def _xml(pdf_bytes):
    import facturx

    filename, xml_bytes = facturx.get_xml_from_pdf(pdf_bytes, check_xsd=False)
    assert filename == "factur-x.xml"
    return xml_bytes


def _values(root, path):
    return [node.text for node in root.xpath(path, namespaces=NS)]


def _one(root, path):
    values = _values(root, path)
    assert len(values) == 1, (path, values)
    return values[0]


def _cii_date(iso):
    return iso.replace("-", "")


@pytest.mark.parametrize("case", list(CASES))
def test_embedded_xml_validates_and_states_what_the_json_states(rendered, case):
    import facturx

    _, pdfs = rendered
    invoice, pdf, _ = pdfs[case]
    xml_bytes = _xml(pdf)
    assert facturx.xml_check_xsd(xml_bytes, flavor="factur-x", level="en16931")
    assert facturx.get_level(etree.fromstring(xml_bytes)) == "en16931"
    root = etree.fromstring(xml_bytes)
    body = invoice_to_json(invoice)
    settlement = "//ram:ApplicableHeaderTradeSettlement"
    totals = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert _one(root, "//rsm:ExchangedDocument/ram:ID") == body["number"]
    assert _one(root, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == _cii_date(body["issue_date"])
    assert _one(root, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == _cii_date(
        body["due_date"]
    )
    assert _one(root, f"{settlement}/ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString") == _cii_date(
        body["period"]["start"]
    )
    assert _one(root, f"{settlement}/ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString") == _cii_date(
        body["period"]["end"]
    )
    assert _one(root, "//ram:BuyerTradeParty/ram:Name") == body["buyer"]["name"]
    assert _one(root, "//ram:BuyerTradeParty/ram:ID") == body["buyer"]["id"]
    assert _values(root, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == (
        [body["buyer"]["vat_id"]] if body["buyer"]["vat_id"] else []
    )
    assert _values(root, "//ram:ApplicableHeaderTradeAgreement/ram:BuyerReference") == (
        [body["po_number"]] if body["po_number"] else []
    )
    assert _one(root, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == body["seller"]["vat_id"]
    assert _one(root, f"{settlement}/ram:InvoiceCurrencyCode") == body["currency"]
    lines = root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert len(lines) == len(body["lines"]) == 1
    line, expected = lines[0], body["lines"][0]
    assert _one(line, ".//ram:SpecifiedTradeProduct/ram:SellerAssignedID") == expected["product_code"]
    assert _one(line, ".//ram:SpecifiedTradeProduct/ram:Name") == expected["description"]
    assert _one(line, ".//ram:BilledQuantity") == str(expected["quantity"])
    assert _one(line, ".//ram:NetPriceProductTradePrice/ram:ChargeAmount") == expected["unit_price"]
    assert _one(line, ".//ram:LineTotalAmount") == expected["amount"]
    category = "AE" if invoice.reverse_charge else "S"
    assert _one(root, f"{settlement}/ram:ApplicableTradeTax/ram:CategoryCode") == category
    assert _one(root, f"{settlement}/ram:ApplicableTradeTax/ram:RateApplicablePercent") == body["tax_rate"]
    assert _one(root, f"{settlement}/ram:ApplicableTradeTax/ram:CalculatedAmount") == body["tax_amount"]
    assert _one(root, f"{settlement}/ram:ApplicableTradeTax/ram:BasisAmount") == body["net_amount"]
    assert _one(root, f"{totals}/ram:TaxBasisTotalAmount") == body["net_amount"]
    assert _one(root, f"{totals}/ram:TaxTotalAmount[@currencyID='{body['currency']}']") == body["tax_amount"]
    converted = body["tax_currency"]  # BT-111: the VAT again in the seller's accounting currency, when it differs
    assert _values(root, f"{totals}/ram:TaxTotalAmount[@currencyID!='{body['currency']}']") == (
        [converted["tax_amount"]] if converted else []
    )
    assert _one(root, f"{totals}/ram:GrandTotalAmount") == body["total_amount"]
    assert _one(root, f"{totals}/ram:DuePayableAmount") == body["total_amount"]


def test_reverse_charge_states_its_exemption_reason(rendered):
    _, pdfs = rendered
    root = etree.fromstring(_xml(pdfs["reverse"][1]))
    assert _one(root, "//ram:ApplicableTradeTax/ram:ExemptionReasonCode") == "VATEX-EU-AE"
    assert "Reverse charge" in _one(root, "//ram:ApplicableTradeTax/ram:ExemptionReason")
    assert "Reverse charge" in _page_text(pdfs["reverse"][1])
    french = _page_text(pdfs["fr"][1])
    assert "Autoliquidation" not in french and "TVA 20,00 %" in french


def test_payment_means_sepa_transfer_with_iban_or_card_with_last4(rendered):
    _, pdfs = rendered
    transfer = etree.fromstring(_xml(pdfs["fr"][1]))
    assert _one(transfer, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"
    assert _one(transfer, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == "FR7619990000010001234567840"
    card = etree.fromstring(_xml(pdfs["de_card"][1]))
    assert _one(card, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "48"
    assert _one(card, "//ram:ApplicableTradeSettlementFinancialCard/ram:ID") == "4242"
    assert not card.xpath("//ram:PayeePartyCreditorFinancialAccount", namespaces=NS)


def _page_text(pdf_bytes):
    return PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()


def test_french_page_text_is_searchable_as_printed(rendered):
    _, pdfs = rendered
    text = _page_text(pdfs["fr"][1])
    for printed in ("Facture", "FR-2026-000001", "Dupont BTP SARL", "PO-7781", "2 700,00 EUR", "450,00 EUR",
                    "Total TTC", "01/12/2026", "31/12/2026", "FR76 1999 0000 0100 0123 4567 840", "40 EUR"):
        assert printed in text, printed


def test_reverse_charge_page_shows_buyer_vat_id(rendered):
    _, pdfs = rendered
    text = _page_text(pdfs["reverse"][1])
    for printed in ("Invoice", "FR-2026-000001", "Dupont BTP SARL", "BE0999123457", "PO-7781", "2,250.00 EUR"):
        assert printed in text, printed


def test_german_page_uses_german_labels(rendered):
    _, pdfs = rendered
    text = _page_text(pdfs["de_card"][1])
    for printed in ("Rechnung", "DE-2026-000001", "Rechnungsempfänger", "Gesamtbetrag brutto", "2.677,50 EUR",
                    "USt. 19,00 %", "12 Monate", "Karte Visa mit Endziffern 4242", "Handelsregister"):
        assert printed in text, printed
    assert "IBAN" not in text  # paid by card: no bank transfer details


def test_same_invoice_same_bytes_and_dates_are_the_issue_moment(rendered):
    _, pdfs = rendered
    for invoice, first, second in pdfs.values():
        assert first == second
        reader = PdfReader(io.BytesIO(first))
        moment = invoice.issued_at.strftime("%Y%m%d%H%M%S")
        assert reader.metadata["/CreationDate"].startswith(f"D:{moment}")
        assert reader.metadata["/ModDate"].startswith(f"D:{moment}")
        xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
        assert invoice.issued_at.strftime("%Y-%m-%dT%H:%M:%S") in xmp
        _assert_no_wall_clock(xmp, invoice.issued_at)


def _assert_no_wall_clock(xmp, moment):
    """Every XMP date is the document's own moment: none is the time of rendering (which would change the bytes)."""
    stamps = set(re.findall(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", xmp))
    assert stamps == {moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")}, stamps


def test_other_invoice_other_bytes(rendered):
    facturx_pdf, pdfs = rendered
    invoice = make_invoice(issued_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    assert facturx_pdf.render_facturx_pdf(invoice) != pdfs["fr"][1]


def test_pdf_declares_pdfa_3b_and_embeds_every_font(rendered):
    _, pdfs = rendered
    for _, pdf, _ in pdfs.values():
        reader = PdfReader(io.BytesIO(pdf))
        root = reader.trailer["/Root"]
        xmp = root["/Metadata"].get_object().get_data().decode()
        assert re.search(r"<pdfaid:part>3</pdfaid:part>", xmp)
        assert re.search(r"<pdfaid:conformance>B</pdfaid:conformance>", xmp)
        assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
        assert "/OutputIntents" in root
        assert [str(a.get_object()["/AFRelationship"]) for a in root["/AF"].get_object()] == ["/Data"]
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                descendant = font["/DescendantFonts"][0].get_object()
                assert "/FontFile2" in descendant["/FontDescriptor"], font["/BaseFont"]
                assert "/ToUnicode" in font


def test_no_network_or_clock_left_patched(rendered):
    import facturx.facturx as core

    assert core.datetime is datetime


def test_workers_rendering_at_once_get_their_own_bytes_and_leave_the_clock_unpatched(rendered):
    """Several job workers render invoices at the same time: each PDF must carry its own issue moment (the same bytes
    as alone), and factur-x's clock must be the real one afterwards."""
    import threading

    import facturx.facturx as core

    facturx_pdf, pdfs = rendered
    barrier = threading.Barrier(4)
    results: dict[tuple[str, int], bytes] = {}

    def render(name: str, n: int) -> None:
        barrier.wait()
        for k in range(3):
            results[(name, n * 3 + k)] = facturx_pdf.render_facturx_pdf(pdfs[name][0])

    names = list(pdfs)[:2]
    threads = [threading.Thread(target=render, args=(names[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert core.datetime is datetime
    assert len(results) == 12 and all(pdf == pdfs[name][1] for (name, _), pdf in results.items())


# -------------------------------------------------------------------------------------------------------- agreement


@pytest.fixture(scope="module")
def agreement():
    from chalicelib.adapters.pdf.agreement import AcceptanceRecord, AgreementFacts

    text = FileAgreementCatalog().current("DE", "de")
    facts = AgreementFacts(
        subscription_id="sub-0001", product_name="PROFIS Engineering Suite", customer_name="Müller Bau GmbH",
        country="DE", license_quantity=5,
    )  # fmt: skip
    record = AcceptanceRecord(
        name="Jürgen Müller", email="juergen.mueller@example.de", accepted_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        version=text.version, channel="portal",
    )  # fmt: skip
    return text, facts, record


def test_accepted_agreement_pdf_carries_the_acceptance_record(rendered, agreement):
    from chalicelib.adapters.pdf import agreement as agreement_pdf

    text, facts, record = agreement
    args = (text.title, text.text, text.version, facts, record, "de", record.accepted_at)
    pdf = agreement_pdf.render_agreement_pdf(*args)
    assert pdf == agreement_pdf.render_agreement_pdf(*args)
    reader = PdfReader(io.BytesIO(pdf))
    _assert_no_wall_clock(reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode(), record.accepted_at)
    assert "<pdfaid:part>3</pdfaid:part>" in reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    whole = "\n".join(page.extract_text() for page in reader.pages)
    for printed in (text.title, text.version, "Jürgen Müller", "juergen.mueller@example.de", "2026-12-01 10:00:00 UTC",
                    "Abonnementportal", "Müller Bau GmbH", "Angenommen von"):
        assert printed in whole, printed
    first_words = " ".join(text.text.split()[:6])
    assert first_words in " ".join(whole.split())


def test_pending_agreement_pdf_says_version_to_accept(rendered, agreement):
    from chalicelib.adapters.pdf import agreement as agreement_pdf

    text, facts, _ = agreement
    pdf = agreement_pdf.render_agreement_pdf(
        text.title, text.text, text.version, facts, None, "de", datetime(2026, 11, 1, tzinfo=UTC)
    )
    whole = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Zu akzeptierende Version" in whole and text.version in whole
    assert "Angenommen von" not in whole
