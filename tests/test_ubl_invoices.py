"""Peppol BIS Billing 3.0 for a Belgian seller (DESIGN 15.4, issue 14 item 4).

The local stack's BE seller has `einvoice.syntax = ubl`: its documents are a UBL 2.1 `Invoice` / `CreditNote` and a
PDF/A view with nothing embedded. Each variant is issued through intake, activation (or renewal) and the API, then
checked with the official CEN EN 16931 UBL and Peppol BIS 3.0 rules (no fatal or error assert), and against the PDF
the buyer reads: every business value of the UBL is printed there. The credit note is built at the semantic level
(the correction route that issues it end to end is another part of issue 14).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import facturx
import pytest
from defusedxml import ElementTree
from pypdf import PdfReader

from chalicelib import jobs
from chalicelib.adapters.einvoice import semantic_of, serialize
from chalicelib.domain.billing.document import DocumentReference, Invoice
from chalicelib.domain.billing.formatting import format_date, format_money
from chalicelib.domain.einvoice import VatBreakdown
from chalicelib.domain.identifiers import ElectronicAddress
from chalicelib.domain.models import PaymentMethod
from devstack import einvoice_rules
from devstack.einvoice_rules import Finding
from tests.support import ADMIN, SEAT, order
from tests.test_billing_domain import make_invoice

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
INVOICE_ROOT = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
CREDIT_NOTE_ROOT = "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
UBL_RULES = einvoice_rules.rule_sets_for("ubl", french_seller=False)
BE_BUYER_VAT = "BE0477000072"  # a well-formed enterprise number (mod-97 check digits)


def _blocking_and_warnings(xml: bytes) -> tuple[list[Finding], list[Finding]]:
    findings = einvoice_rules.validate(xml, UBL_RULES)  # raises RulesUnavailable when the rule files are missing
    return [f for f in findings if f.flag in ("fatal", "error")], [f for f in findings if f.flag == "warning"]


def _passes_cen_and_peppol(xml: bytes) -> list[Finding]:
    errors, warnings = _blocking_and_warnings(xml)
    assert errors == [], [(f.rule_set, f.rule_id, f.text) for f in errors]
    for finding in warnings:  # reported, not failed: Peppol and CEN warnings do not reject a document
        print(f"UBL warning {finding.rule_set} {finding.rule_id}: {finding.text}")
    return warnings


# ----------------------------------------------------------------------------------- issued through the API


def _be_order(order_id: str, address_country: str, vat_id: str | None, **changes: Any) -> dict[str, Any]:
    cities = {"BE": ("Avenue Louise 54", "1050", "Bruxelles"), "DE": ("Hauptstraße 5", "10115", "Berlin"),
              "FR": ("3 place Bellecour", "69002", "Lyon"), "CH": ("Bahnhofstrasse 1", "8001", "Zürich")}  # fmt: skip
    street, postal_code, city = cities[address_country]
    customer: dict[str, Any] = {
        "id": "0009876543",
        "name": "Client Exemple SA",
        "address": {"lines": [street], "postal_code": postal_code, "city": city, "country": address_country},
    }
    if vat_id:
        customer["vat_id"] = vat_id
    return order(order_id=order_id, country="BE", locale="fr-BE", customer=customer, **changes)


def _be_admin(container, subscription_id: str, active: bool = True):
    from chalicelib.domain.models import Role
    from chalicelib.services.identity import Caller

    return container.access.authorize(Caller(ADMIN, "BE"), subscription_id, role=Role.ADMIN, active=active)


def _activate(stack, subscription_id: str) -> None:
    from chalicelib.services.identity import RequestContext

    container = stack.container
    admin = _be_admin(container, subscription_id, active=False)
    version = container.agreements.current("BE", "fr").version
    container.activation.activate_in_portal(
        admin, accepted=True, agreement_version=version, context=RequestContext("1.1.1.1", "test")
    )


def _get(client, stack, path: str, email: str = ADMIN, **headers: str):
    return client.http.get(path, headers={**stack.issuer.bearer(email, "BE"), **headers})


def _invoices(client, stack, subscription_id: str) -> list[dict[str, Any]]:
    response = _get(client, stack, f"/subscriptions/{subscription_id}/invoices")
    assert response.status_code == 200, response.body
    items: list[dict[str, Any]] = json.loads(response.body)["items"]
    return items


def _xml(client, stack, subscription_id: str, invoice: dict[str, Any]) -> bytes:
    response = _get(client, stack, f"/subscriptions/{subscription_id}/invoices/{invoice['id']}/xml")
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/xml"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{invoice["number"]}.xml"'
    return _body_bytes(response)


def _body_bytes(response) -> bytes:
    body = response.body
    return body if isinstance(body, bytes) else body.encode("utf-8")


def _pdf(client, stack, subscription_id: str, invoice: dict[str, Any]) -> bytes:
    import base64

    path = f"/subscriptions/{subscription_id}/invoices/{invoice['id']}/pdf"
    response = _get(client, stack, path, Accept="application/pdf")
    assert response.status_code == 200, response.body
    body = response.body
    return body if isinstance(body, bytes) and body.startswith(b"%PDF") else base64.b64decode(body)


def _issue(stack, client, order_id: str, address_country: str, vat_id: str | None, **changes: Any):
    subscription_id = jobs.receive_order(_be_order(order_id, address_country, vat_id, **changes)).subscription_id
    _activate(stack, subscription_id)
    [invoice] = _invoices(client, stack, subscription_id)
    return subscription_id, invoice


CASES = {
    # name: (buyer's address country, VAT id, order changes, VAT category, buyer EndpointID scheme)
    "domestic": ("BE", BE_BUYER_VAT, {}, "S", "0208"),
    "to Germany, reverse charge": ("DE", "DE123456789", {}, "AE", "9930"),
    "to France, reverse charge": ("FR", "FR40303265045", {}, "AE", "0225"),
    "to Switzerland": ("CH", "CHE123456789", {}, None, "9927"),
    "quantity 10000": ("BE", BE_BUYER_VAT, {"license_quantity": 10000, "unit_price": "0.1234"}, "S", "0208"),
    "zero price": ("BE", BE_BUYER_VAT, {"unit_price": "0.00"}, "S", "0208"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_variant_is_a_peppol_bis_invoice_that_passes_the_official_rules(stack, client, case):
    address_country, vat_id, changes, category, endpoint_scheme = CASES[case]
    subscription_id, invoice = _issue(stack, client, "4500077001", address_country, vat_id, **changes)
    xml = _xml(client, stack, subscription_id, invoice)

    root = ElementTree.fromstring(xml)
    assert root.tag == INVOICE_ROOT
    assert _text(root, "cbc:CustomizationID") == PEPPOL_CUSTOMIZATION
    assert _text(root, "cbc:ProfileID") == PEPPOL_PROFILE
    assert _text(root, "cbc:InvoiceTypeCode") == "380"
    seller_endpoint = root.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", NS)
    buyer_endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert (seller_endpoint.get("schemeID"), seller_endpoint.text) == ("0208", "0999123457")
    assert buyer_endpoint.get("schemeID") == endpoint_scheme
    if category is not None:  # the buyer outside the EU: the treatment is the VAT table's (another part of issue 14)
        assert _text(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == category
    if category == "AE":
        assert _text(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode") == "VATEX-EU-AE"
    assert {node.get("currencyID") for node in root.iter() if "Amount" in node.tag} == {"EUR"}
    _passes_cen_and_peppol(xml)
    _the_pdf_prints_what_the_ubl_states(_pdf(client, stack, subscription_id, invoice), xml, "fr")


def test_a_renewal_invoice_is_a_peppol_bis_invoice_too(stack, client):
    subscription_id, first = _issue(stack, client, "4500077002", "BE", BE_BUYER_VAT)
    stack.clock.advance(days=366)
    assert stack.run_job("process_renewals")["invoices"] == 1
    renewal = next(item for item in _invoices(client, stack, subscription_id) if item["kind"] == "renewal")
    xml = _xml(client, stack, subscription_id, renewal)

    root = ElementTree.fromstring(xml)
    assert _text(root, "cbc:ID") == renewal["number"] != first["number"]
    assert _text(root, "cac:InvoicePeriod/cbc:StartDate") == renewal["period"]["start"]
    _passes_cen_and_peppol(xml)
    _the_pdf_prints_what_the_ubl_states(_pdf(client, stack, subscription_id, renewal), xml, "fr")


def test_a_ubl_sellers_pdf_embeds_nothing_and_the_email_attaches_pdf_and_ubl(stack, client):
    subscription_id, invoice = _issue(stack, client, "4500077003", "BE", BE_BUYER_VAT)
    pdf, xml = _pdf(client, stack, subscription_id, invoice), _xml(client, stack, subscription_id, invoice)

    assert PdfReader(io.BytesIO(pdf)).attachments == {}  # a PDF/A view, no CII beside the UBL
    [mail] = [m for m in stack.mails_to(ADMIN) if invoice["number"] in m["Subject"]]
    attached = {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
                for part in mail.iter_attachments()}  # fmt: skip
    number = invoice["number"]
    assert attached == {f"{number}.pdf": ("application/pdf", pdf), f"{number}.xml": ("application/xml", xml)}


def test_the_xml_route_answers_like_the_pdf_route_admin_only(stack, client):
    from chalicelib.domain.models import Person

    subscription_id, invoice = _issue(stack, client, "4500077004", "BE", BE_BUYER_VAT)
    container = stack.container
    container.administration.assign_seat(_be_admin(container, subscription_id), Person(email=SEAT, name="S"))
    path = f"/subscriptions/{subscription_id}/invoices/{invoice['id']}/xml"

    assert _get(client, stack, path).status_code == 200
    assert _get(client, stack, path, email=SEAT).status_code == 403
    assert _get(client, stack, path, email="stranger@example.be").status_code == 404
    missing = f"/subscriptions/{subscription_id}/invoices/00000000-0000-0000-0000-000000000000/xml"
    assert _get(client, stack, missing).status_code == 404


def test_a_factur_x_sellers_xml_is_the_cii_its_pdf_carries(stack, client, active):
    from tests.test_billing_routes import _first_invoice, _pdf_bytes
    from tests.test_billing_routes import _get as get_fr

    invoice = _first_invoice(client, stack, active)
    response = get_fr(client, stack, f"/subscriptions/{active}/invoices/{invoice['id']}/xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="FR-2026-000001.xml"'
    pdf = get_fr(client, stack, f"/subscriptions/{active}/invoices/{invoice['id']}/pdf", Accept="application/pdf")
    embedded = facturx.get_xml_from_pdf(_pdf_bytes(pdf), check_xsd=False)[1]
    assert _body_bytes(response) == embedded
    assert ElementTree.fromstring(embedded).tag.endswith("CrossIndustryInvoice")


# ------------------------------------------------------------------------------------- built at the semantic level


def _be_invoice(**kw: Any) -> Invoice:
    invoice = make_invoice(country="BE", language="fr", buyer_address_country="BE", buyer_vat_id=BE_BUYER_VAT, **kw)
    buyer = invoice.buyer.model_copy(update={"electronic_address": ElectronicAddress(scheme="0208", id="0477000072")})
    return Invoice.model_validate({**invoice.model_dump(), "buyer": buyer.model_dump()})


def test_a_credit_note_is_a_peppol_bis_credit_note_citing_its_invoice():
    invoice = _be_invoice()
    cited = DocumentReference(id=invoice.id, number=invoice.number, issue_date=invoice.issue_date)
    note = Invoice.model_validate(
        {**invoice.model_dump(), "type": "credit_note", "cancels": cited, "number": "BE-2026-C000001"}
    )
    xml = serialize("ubl", semantic_of(note))

    root = ElementTree.fromstring(xml)
    assert root.tag == CREDIT_NOTE_ROOT
    assert _text(root, "cbc:CreditNoteTypeCode") == "381"
    assert _text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == invoice.number
    assert _text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == "2026-12-01"
    assert _text(root, "cac:CreditNoteLine/cbc:CreditedQuantity") == "5"  # positive, as DESIGN 15.1 says
    assert _text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "2722.50"
    _passes_cen_and_peppol(xml)


def test_a_card_payment_states_the_cards_network_and_last_digits_only():
    invoice = _be_invoice(method=PaymentMethod(type="card", brand="visa", last4="4242"))
    xml = serialize("ubl", semantic_of(invoice))

    root = ElementTree.fromstring(xml)
    assert _text(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "48"
    assert _text(root, "cac:PaymentMeans/cac:CardAccount/cbc:PrimaryAccountNumberID") == "4242"
    assert _text(root, "cac:PaymentMeans/cac:CardAccount/cbc:NetworkID") == "Visa"
    _passes_cen_and_peppol(xml)


def test_an_out_of_scope_document_states_the_sellers_vat_number_as_tax_registration_only():
    """Category O (the VAT table's buyer outside the EU): EN 16931 BR-O-02 forbids BT-31, the seller's VAT number goes
    in BT-32. The serializer spells what the model says, whichever part of issue 14 decides it."""
    document = semantic_of(_be_invoice())
    reason = "Not subject to Belgian VAT (art. 21 § 2 VAT Code)."
    out_of_scope = dataclasses.replace(
        document,
        seller=dataclasses.replace(document.seller, vat_id=None, tax_registration="BE0999123457"),
        buyer=dataclasses.replace(document.buyer, vat_id=None),
        totals=dataclasses.replace(document.totals, vat=Decimal("0.00"), with_vat=Decimal("2250.00"),
                                   due=Decimal("2250.00")),
        vat_breakdown=(VatBreakdown(Decimal("2250.00"), Decimal("0.00"), "O", Decimal("0.00"), reason, "VATEX-EU-O"),),
        lines=tuple(dataclasses.replace(line, vat_category="O", vat_rate=Decimal("0.00")) for line in document.lines),
    )  # fmt: skip
    xml = serialize("ubl", out_of_scope)

    root = ElementTree.fromstring(xml)
    [tax_scheme] = root.findall("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme", NS)
    assert _text(tax_scheme, "cbc:CompanyID") == "BE0999123457" and _text(tax_scheme, "cac:TaxScheme/cbc:ID") != "VAT"
    assert root.find("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", NS) is None  # BR-O-05
    assert _text(root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason") == reason
    _passes_cen_and_peppol(xml)


def test_notes_with_subject_codes_are_refused_rather_than_merged_into_peppols_one_note():
    from chalicelib.domain.einvoice import Note

    document = semantic_of(_be_invoice())
    coded = dataclasses.replace(document, notes=(Note("late payment penalties", "PMD"), Note("EUR 40", "PMT")))
    with pytest.raises(ValueError, match="one note"):
        serialize("ubl", coded)


# ---------------------------------------------------------------------------------------- the PDF says the same


def _text(root: Any, path: str) -> str:
    node = root.find(path, NS)
    assert node is not None, path
    return str(node.text)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _the_pdf_prints_what_the_ubl_states(pdf: bytes, xml: bytes, language: str) -> None:
    """Every business value of the UBL, formatted as the invoice's language prints it, is in the PDF's text layer."""
    printed = _squeezed("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    root = ElementTree.fromstring(xml)
    currency = _text(root, "cbc:DocumentCurrencyCode")

    def day(path: str) -> str:
        return format_date(date.fromisoformat(_text(root, path)), language)

    def money(path: str, keep_precision: bool = False) -> str:
        return format_money(Decimal(_text(root, path)), currency, language, keep_precision=keep_precision)

    seller = "cac:AccountingSupplierParty/cac:Party/"
    buyer = "cac:AccountingCustomerParty/cac:Party/"
    expected = {
        "number": _text(root, "cbc:ID"),
        "issue date": day("cbc:IssueDate"),
        "due date": day("cbc:DueDate"),
        "period start": day("cac:InvoicePeriod/cbc:StartDate"),
        "period end": day("cac:InvoicePeriod/cbc:EndDate"),
        "PO number": _text(root, "cbc:BuyerReference"),
        "seller name": _text(root, seller + "cac:PartyLegalEntity/cbc:RegistrationName"),
        "seller VAT id": _text(root, seller + "cac:PartyTaxScheme/cbc:CompanyID"),
        "seller registration": _text(root, seller + "cac:PartyLegalEntity/cbc:CompanyID"),
        "seller street": _text(root, seller + "cac:PostalAddress/cbc:StreetName"),
        "seller city": _text(root, seller + "cac:PostalAddress/cbc:CityName"),
        "buyer name": _text(root, buyer + "cac:PartyLegalEntity/cbc:RegistrationName"),
        "buyer id": _text(root, buyer + "cac:PartyIdentification/cbc:ID"),
        "buyer street": _text(root, buyer + "cac:PostalAddress/cbc:StreetName"),
        "buyer postal code": _text(root, buyer + "cac:PostalAddress/cbc:PostalZone"),
        "buyer city": _text(root, buyer + "cac:PostalAddress/cbc:CityName"),
        "IBAN": _text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
        "line name": _text(root, "cac:InvoiceLine/cac:Item/cbc:Name"),
        "line quantity": _text(root, "cac:InvoiceLine/cbc:InvoicedQuantity"),
        "line price": money("cac:InvoiceLine/cac:Price/cbc:PriceAmount", keep_precision=True),
        "line amount": money("cac:InvoiceLine/cbc:LineExtensionAmount"),
        "net total": money("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount"),
        "VAT total": money("cac:TaxTotal/cbc:TaxAmount"),
        "total": money("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
        "payable": money("cac:LegalMonetaryTotal/cbc:PayableAmount"),
    }
    buyer_vat_id = root.find(buyer + "cac:PartyTaxScheme/cbc:CompanyID", NS)
    if buyer_vat_id is not None:  # none on a document "not subject to VAT" (BR-O-02)
        expected["buyer VAT id"] = str(buyer_vat_id.text)
    missing = {name: value for name, value in expected.items() if _squeezed(value) not in printed}
    assert missing == {}, missing
