"""UN/CEFACT CII (Cross Industry Invoice, D16B) of profile EN 16931, as Factur-X / ZUGFeRD carry it.

The semantic invoice is spelled as the factur-x library's BT-keyed dict, which writes the XML. Imports factur-x (and
lxml): load this module only where documents are rendered.
"""

from __future__ import annotations

from typing import Any

import facturx

from chalicelib.domain.billing.money import money_str, price_str
from chalicelib.domain.einvoice import Address, ElectronicAddress, Note, SemanticInvoice, VatBreakdown

FACTURX_LEVEL = "en16931"


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
    seller_party: dict[str, Any] = {
        "name": seller.name,
        "vat_identifier": seller.vat_id,
        "legal_identifier": seller.legal_registration,
        **_address(seller.address),
    }
    _electronic_address(seller_party, seller.electronic_address)
    if seller.contact is not None:
        contact = seller.contact
        seller_party["contacts"] = [
            {key: value for key, value in (("email", contact.email), ("phone", contact.phone)) if value}
        ]
    buyer_party: dict[str, Any] = {
        "name": buyer.name,
        "identifiers": {None: buyer.identifier},
        **_address(buyer.address),
    }
    if buyer.vat_id:
        buyer_party["vat_identifier"] = buyer.vat_id
    _electronic_address(buyer_party, buyer.electronic_address)
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
                "BT-152": money_str(line.vat_rate),
                "BT-153": line.name,
                "BT-155": line.seller_item_id,
            }
            for line in document.lines
        ],
    }
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


def _electronic_address(party: dict[str, Any], address: ElectronicAddress | None) -> None:
    """BT-34 / BT-49 with their scheme."""
    if address is not None:
        party["einvoicing_addr"] = address.identifier
        party["einvoicing_addr_schemeid"] = address.scheme


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
    """The model has room for the reform's terms before this serializer writes them: a document carrying one must
    fail loudly here rather than leave the term out of the XML."""
    seller, buyer = document.seller, document.buyer
    unwritten = {
        "BT-30 scheme": seller.legal_registration_id,
        "BT-32": seller.tax_registration,
        "BT-41": seller.contact.name if seller.contact else None,
        "BT-47": buyer.legal_registration_id,
        "BT-23": document.business_process,
        "BT-6": document.tax_currency,
        "BT-111": document.vat_in_tax_currency,
    }
    given = sorted(term for term, value in unwritten.items() if value is not None)
    if given or seller.vat_id is None:
        raise ValueError(f"the CII serializer does not write {', '.join(given) or 'a document without BT-31'} yet")
