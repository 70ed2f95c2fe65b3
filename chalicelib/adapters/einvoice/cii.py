"""UN/CEFACT CII (Cross Industry Invoice, D16B) of profile EN 16931, as Factur-X / ZUGFeRD carry it.

The semantic invoice is spelled as the factur-x library's BT-keyed dict, which writes the XML. Imports factur-x (and
lxml): load this module only where documents are rendered.
"""

from __future__ import annotations

from typing import Any

import facturx

from chalicelib.adapters.einvoice.bt_terms import breakdown_terms, common_terms, line_terms
from chalicelib.domain.einvoice import Note, SemanticInvoice

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
    data["BG-23"] = [breakdown_terms(entry, rate_when_out_of_scope=True) for entry in document.vat_breakdown]
    data["BG-25"] = [line_terms(line) for line in document.lines]
    if document.business_process:
        data["BT-23"] = document.business_process
    if document.vat_point_date_code is not None:
        data["BT-8"] = VAT_POINT_CODES_CII[document.vat_point_date_code]
    if document.notes:
        data["BG-1"] = [_note(note) for note in document.notes]
    return data


def _note(note: Note) -> dict[str, Any]:
    fields: dict[str, Any] = {"BT-22": note.text}
    if note.subject_code is not None:
        fields["BT-21"] = note.subject_code
    return fields
