"""The terms both syntaxes state alike, as factur-x's BT-keyed dict (the one input of `generate_cii_xml` and
`generate_ubl_xml`): header, parties, references, totals and payment. What a syntax spells its own way (BT-23, the
notes, the VAT breakdown and lines, BT-8, the card network) its serializer adds on top."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.billing.money import money_str, price_str
from chalicelib.domain.einvoice import (
    Address,
    Contact,
    ElectronicAddress,
    Identifier,
    Line,
    SemanticInvoice,
    VatBreakdown,
)

OUT_OF_SCOPE = "O"  # VAT category "not subject to VAT"


def common_terms(document: SemanticInvoice) -> dict[str, Any]:
    _refuse_a_seller_without_a_vat_number(document)
    totals = document.totals
    data: dict[str, Any] = {
        "BT-1": document.number,
        "BT-2": document.issue_date,
        "BT-3": document.type_code,
        "BT-5": document.currency,
        "BT-9": document.due_date,  # a UBL CreditNote states it as its payment due date (factur-x places it)
        "BT-20": document.payment_terms,
        # factur-x 7.8 writes an empty, XSD-invalid CII delivery block unless some delivery data is given
        "BT-72": document.delivery_date,
        "BT-73": document.period.start,
        "BT-74": document.period.end,
        "BT-106": money_str(totals.line_net_total),
        "BT-109": money_str(totals.without_vat),
        "BT-110": money_str(totals.vat),
        "BT-112": money_str(totals.with_vat),
        "BT-115": money_str(totals.due),
        "BG-4": _seller(document),
        "BG-7": _buyer(document),
    }
    if document.buyer_reference:
        data["BT-10"] = document.buyer_reference
    if document.purchase_order:
        data["BT-13"] = document.purchase_order
    if document.tax_currency is not None:
        if document.vat_in_tax_currency is None:
            raise ValueError("BT-6 is stated without the VAT total in that currency (BT-111)")
        data["BT-6"] = document.tax_currency
        data["BT-111"] = money_str(document.vat_in_tax_currency)
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


def line_terms(line: Line) -> dict[str, Any]:
    """BG-25. A line "not subject to VAT" states no rate (BR-O-05): the model gives it none."""
    fields: dict[str, Any] = {
        "BT-126": line.identifier,
        "BT-129": str(line.quantity),
        "BT-130": line.unit_code,
        "BT-131": money_str(line.net_amount),
        "BT-134": line.period.start,
        "BT-135": line.period.end,
        "BT-146": price_str(line.net_price),
        "BT-151": line.vat_category,
        "BT-153": line.name,
        "BT-155": line.seller_item_id,
    }
    if line.vat_rate is not None and line.vat_category != OUT_OF_SCOPE:
        fields["BT-152"] = money_str(line.vat_rate)
    return fields


def breakdown_terms(entry: VatBreakdown, *, rate_when_out_of_scope: bool) -> dict[str, Any]:
    """BG-23. UBL states no rate for "not subject to VAT" (BR-O-10); CII's RateApplicablePercent is written as 0."""
    fields: dict[str, Any] = {
        "BT-116": money_str(entry.taxable_amount),
        "BT-117": money_str(entry.tax_amount),
        "BT-118": entry.category,
    }
    if entry.category != OUT_OF_SCOPE or rate_when_out_of_scope:
        fields["BT-119"] = money_str(entry.rate)
    if entry.exemption_reason is not None:
        fields["BT-120"] = entry.exemption_reason
    if entry.exemption_reason_code is not None:
        fields["BT-121"] = entry.exemption_reason_code
    return fields


def _seller(document: SemanticInvoice) -> dict[str, Any]:
    seller = document.seller
    party: dict[str, Any] = {"name": seller.name, **_address(seller.address)}
    if seller.vat_id:
        party["vat_identifier"] = seller.vat_id  # BT-31
    if seller.tax_registration:  # BT-32: EN 16931 only asks that its tax scheme is not VAT
        party["tax_identifier"] = seller.tax_registration
    _legal_identifier(party, seller.legal_registration_id, fallback=seller.legal_registration)  # BT-30
    _electronic_address(party, seller.electronic_address)  # BT-34
    if seller.contact is not None:
        party["contacts"] = [_contact(seller.contact)]  # BG-6
    return party


def _buyer(document: SemanticInvoice) -> dict[str, Any]:
    buyer = document.buyer
    party: dict[str, Any] = {"name": buyer.name, "identifiers": {None: buyer.identifier}, **_address(buyer.address)}
    if buyer.vat_id:
        party["vat_identifier"] = buyer.vat_id  # BT-48
    _legal_identifier(party, buyer.legal_registration_id, fallback=None)  # BT-47 (a French buyer's SIREN)
    _electronic_address(party, buyer.electronic_address)  # BT-49
    return party


def _address(address: Address) -> dict[str, Any]:
    fields: dict[str, Any] = {"country_code": address.country}
    for key, value in zip(("addr_l1", "addr_l2", "addr_l3"), address.lines, strict=False):
        fields[key] = value
    if address.postal_code:
        fields["postcode"] = address.postal_code
    if address.city:
        fields["city"] = address.city
    return fields


def _contact(contact: Contact) -> dict[str, Any]:
    """BT-41 name, BT-42 phone, BT-43 email."""
    given = (("name", contact.name), ("phone", contact.phone), ("email", contact.email))
    return {key: value for key, value in given if value}


def _legal_identifier(party: dict[str, Any], identifier: Identifier | None, fallback: str | None) -> None:
    """BT-30 / BT-47 with its ISO 6523 scheme when the model has one (0002: the SIREN)."""
    if identifier is not None:
        party["legal_identifier"] = identifier.value
        if identifier.scheme:
            party["legal_identifier_schemeid"] = identifier.scheme
    elif fallback:
        party["legal_identifier"] = fallback


def _electronic_address(party: dict[str, Any], address: ElectronicAddress | None) -> None:
    """BT-34 / BT-49 with their EAS scheme (Peppol requires both: PEPPOL-EN16931-R010, -R020)."""
    if address is not None:
        party["einvoicing_addr"] = address.identifier
        party["einvoicing_addr_schemeid"] = address.scheme


def _refuse_a_seller_without_a_vat_number(document: SemanticInvoice) -> None:
    """A document a serializer cannot state in full must fail loudly rather than leave a term out. Every term of the
    model is written; what stays refused is a seller without a VAT number in either place (BT-31, or BT-32 on a
    document of category O): every seller the portal configures is registered for VAT."""
    seller = document.seller
    if seller.vat_id is None and seller.tax_registration is None:
        raise ValueError("the e-invoice serializers do not write a document whose seller has neither BT-31 nor BT-32")
