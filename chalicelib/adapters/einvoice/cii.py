"""UN/CEFACT CII (Cross Industry Invoice, D16B) of profile EN 16931, as Factur-X / ZUGFeRD carry it.

The semantic invoice is spelled as the factur-x library's BT-keyed dict, which writes the XML. Imports factur-x (and
lxml): load this module only where documents are rendered.
"""

from __future__ import annotations

from typing import Any

import facturx

from chalicelib.domain.billing.money import money_str, price_str
from chalicelib.domain.einvoice import Address, Note, SemanticInvoice, VatBreakdown

FACTURX_LEVEL = "en16931"
# BT-8: EN 16931 names the VAT point by UNTDID 2005 (3 invoice date, 35 delivery, 432 paid to date); CII spells it
# with UNTDID 2475 (5, 29, 72).
VAT_POINT_CODES_CII = {"3": "5", "35": "29", "432": "72"}


def cii_xml(document: SemanticInvoice) -> bytes:
    """The CII document (not checked against the XSD here: the Factur-X embedding checks it before attaching)."""
    xml: bytes = facturx.generate_cii_xml(
        cii_data(document), level=FACTURX_LEVEL, check_xsd=False, check_schematron=False
    )
    return xml


def _address(address: Address) -> dict[str, Any]:
    fields: dict[str, Any] = {"country_code": address.country}
    for key, value in zip(("addr_l1", "addr_l2", "addr_l3"), address.lines, strict=False):
        fields[key] = value
    if address.postal_code:
        fields["postcode"] = address.postal_code
    if address.city:
        fields["city"] = address.city
    return fields


def cii_data(document: SemanticInvoice) -> dict[str, Any]:
    """The semantic invoice as factur-x's BT-keyed dict."""
    _refuse_terms_not_written_yet(document)
    seller, buyer = document.seller, document.buyer
    seller_party: dict[str, Any] = {"name": seller.name, **_address(seller.address)}
    if seller.vat_id:
        seller_party["vat_identifier"] = seller.vat_id  # BT-31
    if seller.tax_registration:
        seller_party["tax_identifier"] = seller.tax_registration  # BT-32 (scheme FC)
    if seller.legal_registration_id is not None:  # BT-30 with its ISO 6523 scheme (0002: the SIREN)
        seller_party["legal_identifier"] = seller.legal_registration_id.value
        if seller.legal_registration_id.scheme:
            seller_party["legal_identifier_schemeid"] = seller.legal_registration_id.scheme
    else:
        seller_party["legal_identifier"] = seller.legal_registration
    if seller.electronic_address is not None:  # BT-34
        seller_party["einvoicing_addr"] = seller.electronic_address.identifier
        seller_party["einvoicing_addr_schemeid"] = seller.electronic_address.scheme
    if seller.contact is not None:  # BG-6: BT-41 name, BT-42 phone, BT-43 email
        contact = seller.contact
        seller_party["contacts"] = [
            {
                key: value
                for key, value in (("name", contact.name), ("email", contact.email), ("phone", contact.phone))
                if value
            }
        ]
    buyer_party: dict[str, Any] = {
        "name": buyer.name,
        "identifiers": {None: buyer.identifier},
        **_address(buyer.address),
    }
    if buyer.vat_id:
        buyer_party["vat_identifier"] = buyer.vat_id  # BT-48
    if buyer.legal_registration_id is not None:  # BT-47 (the SIREN of a French buyer, scheme 0002)
        buyer_party["legal_identifier"] = buyer.legal_registration_id.value
        if buyer.legal_registration_id.scheme:
            buyer_party["legal_identifier_schemeid"] = buyer.legal_registration_id.scheme
    if buyer.electronic_address is not None:  # BT-49
        buyer_party["einvoicing_addr"] = buyer.electronic_address.identifier
        buyer_party["einvoicing_addr_schemeid"] = buyer.electronic_address.scheme
    totals = document.totals
    data: dict[str, Any] = {
        "BT-1": document.number,
        "BT-2": document.issue_date,
        "BT-3": document.type_code,
        "BT-5": document.currency,
        "BT-9": document.due_date,
        "BT-20": document.payment_terms,
        # factur-x 7.8 writes an empty, XSD-invalid delivery block unless some delivery data is given
        "BT-72": document.delivery_date,
        "BT-73": document.period.start,
        "BT-74": document.period.end,
        "BT-106": money_str(totals.line_net_total),
        "BT-109": money_str(totals.without_vat),
        "BT-110": money_str(totals.vat),
        "BT-112": money_str(totals.with_vat),
        "BT-115": money_str(totals.due),
        "BG-4": seller_party,
        "BG-7": buyer_party,
        "BG-23": [_vat_breakdown(entry) for entry in document.vat_breakdown],
        "BG-25": [
            {
                "BT-126": line.identifier,
                "BT-129": str(line.quantity),
                "BT-130": line.unit_code,
                "BT-131": money_str(line.net_amount),
                "BT-134": line.period.start,
                "BT-135": line.period.end,
                "BT-146": price_str(line.net_price),
                "BT-151": line.vat_category,
                **({} if line.vat_rate is None else {"BT-152": money_str(line.vat_rate)}),
                "BT-153": line.name,
                "BT-155": line.seller_item_id,
            }
            for line in document.lines
        ],
    }
    if document.business_process:
        data["BT-23"] = document.business_process
    if document.tax_currency is not None:
        if document.vat_in_tax_currency is None:
            raise ValueError("BT-6 is stated without the VAT total in that currency (BT-111)")
        data["BT-6"] = document.tax_currency
        data["BT-111"] = money_str(document.vat_in_tax_currency)
    if document.vat_point_date_code is not None:
        data["BT-8"] = VAT_POINT_CODES_CII[document.vat_point_date_code]
    if document.notes:
        data["BG-1"] = [_note(note) for note in document.notes]
    if document.buyer_reference:
        data["BT-10"] = document.buyer_reference
    if document.purchase_order:
        data["BT-13"] = document.purchase_order
    preceding = document.preceding_invoice
    if preceding is not None:
        reference: dict[str, Any] = {"BT-25": preceding.number}
        if preceding.issue_date is not None:
            reference["BT-26"] = preceding.issue_date
        data["BG-3"] = [reference]
    payment = document.payment
    data["BT-81"] = payment.means_code
    data["BT-82"] = payment.means_text
    if payment.card_last_digits is not None:
        data["BT-87"] = payment.card_last_digits
    if payment.remittance_information is not None:
        data["BT-83"] = payment.remittance_information
    if payment.credit_transfer is not None:
        data["BT-84"] = payment.credit_transfer.iban
        data["BT-85"] = payment.credit_transfer.account_name
        data["BT-86"] = payment.credit_transfer.bic
    return data


def _vat_breakdown(entry: VatBreakdown) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "BT-116": money_str(entry.taxable_amount),
        "BT-117": money_str(entry.tax_amount),
        "BT-118": entry.category,
        "BT-119": money_str(entry.rate),
    }
    if entry.exemption_reason is not None:
        fields["BT-120"] = entry.exemption_reason
    if entry.exemption_reason_code is not None:
        fields["BT-121"] = entry.exemption_reason_code
    return fields


def _note(note: Note) -> dict[str, Any]:
    fields: dict[str, Any] = {"BT-22": note.text}
    if note.subject_code is not None:
        fields["BT-21"] = note.subject_code
    return fields


def _refuse_terms_not_written_yet(document: SemanticInvoice) -> None:
    """A document this serializer cannot state in full must fail loudly here rather than leave a term out. Every term
    of the model is written today; what stays refused is a seller without a VAT number in either place (BT-31, or
    BT-32 on a document of category O): every seller the portal configures is registered for VAT."""
    seller = document.seller
    if seller.vat_id is None and seller.tax_registration is None:
        raise ValueError("the CII serializer does not write a document whose seller has neither BT-31 nor BT-32")
