"""UBL 2.1 `Invoice` / `CreditNote` of Peppol BIS Billing 3.0 (DESIGN 15.4), the syntax a Belgian seller must use.

The semantic invoice is spelled as the factur-x library's BT-keyed dict, which writes the UBL (`generate_ubl_xml`,
the same library and the same dict as the CII side): a maintained serializer that already knows the UBL element order
the XSD demands, and ships the OASIS UBL 2.1 schemas the result is checked against here (loaded once per process).
factur-x only knows the CustomizationID of plain EN 16931, so the document is written at that level and its
CustomizationID then replaced with Peppol BIS 3.0's (its rules refuse any other). Imports factur-x (and lxml): load
this module only where documents are rendered.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources
from typing import Any

import facturx
import facturx.facturx as facturx_core
from lxml import etree

from chalicelib.adapters.einvoice.bt_terms import breakdown_terms, common_terms, line_terms
from chalicelib.domain.einvoice import Note, SemanticInvoice

PEPPOL_CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"  # BT-24
PEPPOL_PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"  # BT-23: Peppol's business process for billing
CREDIT_NOTE = "381"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
FACTURX_LEVEL = "en16931"


def ubl_xml(document: SemanticInvoice) -> bytes:
    """The Peppol BIS 3.0 document, checked against the OASIS UBL 2.1 XSD (an `Invoice`, or a `CreditNote` for 381)."""
    written: bytes = facturx.generate_ubl_xml(
        ubl_data(document), level=FACTURX_LEVEL, check_xsd=False, check_schematron=False
    )
    root = etree.fromstring(written)
    customization = root.find(f"{{{CBC}}}CustomizationID")
    if customization is None:  # never: factur-x always writes it
        raise ValueError("factur-x wrote a UBL document without CustomizationID")
    customization.text = PEPPOL_CUSTOMIZATION_ID
    _check_xsd(root, "ubl-2.1-creditnote" if document.type_code == CREDIT_NOTE else "ubl-2.1-invoice")
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


_XSD_LOCK = threading.Lock()


@cache
def _schema(flavor: str) -> etree.XMLSchema:
    """The OASIS UBL 2.1 schema factur-x ships, loaded once: `facturx.xml_check_xsd` parses its ~60 files again on
    every call (about a second), more than the rest of the document costs."""
    path = resources.files("facturx").joinpath(f"xsd_and_schematron/{facturx_core.UBL_21_xsd[flavor]}")
    return etree.XMLSchema(file=str(path))


def _check_xsd(root: etree._Element, flavor: str) -> None:
    schema = _schema(flavor)
    with _XSD_LOCK:  # a schema keeps the error log of its last validation: one document at a time
        valid = schema.validate(root)
        errors = str(schema.error_log) if not valid else ""
    if not valid:
        raise ValueError(f"the UBL document is not valid against the UBL 2.1 XSD: {errors}")


def ubl_data(document: SemanticInvoice) -> dict[str, Any]:
    """The semantic invoice as factur-x's BT-keyed dict: the common terms, and Peppol BIS 3.0's spelling of the rest."""
    if document.vat_point_date_code is not None:  # refused rather than left out of the document
        raise ValueError("the UBL serializer does not write BT-8 (VAT point date code)")
    data = common_terms(document)
    # Peppol BIS fixes BT-23 to its billing process (PEPPOL-EN16931-R007): a framework code such as the French
    # reform's S1 (`business_process`) has no place in it
    data["BT-23"] = PEPPOL_PROFILE_ID
    data["BG-23"] = [breakdown_terms(entry, rate_when_out_of_scope=False) for entry in document.vat_breakdown]
    data["BG-25"] = [line_terms(line) for line in document.lines]
    if document.notes:
        data["BG-1"] = [_one_note(document.notes)]
    payment = document.payment
    if payment.card_last_digits is not None:
        if not payment.card_network:
            raise ValueError("a UBL card account states the card's network (BT-87 with its NetworkID)")
        data["BT-87-1"] = payment.card_network
    return data


def _one_note(notes: tuple[Note, ...]) -> dict[str, Any]:
    """Peppol BIS 3.0 allows one document note (PEPPOL-EN16931-R002): the notes are stated in it one per line, in
    their order. Subject codes (BT-21) cannot be kept apart in one note, so notes that carry some are refused."""
    codes = {note.subject_code for note in notes if note.subject_code is not None}
    if len(notes) > 1 and codes:
        raise ValueError("Peppol BIS 3.0 states one note: notes with subject codes (BT-21) cannot be joined")
    fields: dict[str, Any] = {"BT-22": "\n".join(note.text for note in notes)}
    if codes:
        fields["BT-21"] = codes.pop()
    return fields
