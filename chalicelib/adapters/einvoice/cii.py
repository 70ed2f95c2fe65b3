"""UN/CEFACT CII (Cross Industry Invoice, D16B) of profile EN 16931, as Factur-X / ZUGFeRD carry it.

The semantic invoice is spelled as the factur-x library's BT-keyed dict, which writes the XML. Imports factur-x (and
lxml): load this module only where documents are rendered.
"""

from __future__ import annotations

from typing import Any

import facturx

from chalicelib.adapters.einvoice.bt_terms import common_terms
from chalicelib.domain.billing.money import money_str, price_str
from chalicelib.domain.einvoice import Note, SemanticInvoice, VatBreakdown

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


def cii_data(document: SemanticInvoice) -> dict[str, Any]:
    """The semantic invoice as factur-x's BT-keyed dict: the common terms, and CII's own spelling of the rest."""
    data = common_terms(document)
    data["BG-23"] = [_vat_breakdown(entry) for entry in document.vat_breakdown]
    data["BG-25"] = [
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
    ]
    if document.business_process:
        data["BT-23"] = document.business_process
    if document.vat_point_date_code is not None:
        data["BT-8"] = VAT_POINT_CODES_CII[document.vat_point_date_code]
    if document.notes:
        data["BG-1"] = [_note(note) for note in document.notes]
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
