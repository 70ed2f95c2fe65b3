"""E-invoice syntaxes: one serializer per syntax, each spelling the EN 16931 semantic invoice
(`chalicelib.domain.einvoice`) in its XML. A syntax (CII; UBL of Peppol BIS 3.0) is a module here and one entry in
`SERIALIZERS`.

Each serializer module imports its XML libraries when it is first used, not when this package loads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalicelib.adapters.billing_labels import labels
from chalicelib.domain.billing.document import Invoice
from chalicelib.domain.einvoice import SemanticInvoice, semantic_invoice

Serializer = Callable[[SemanticInvoice], bytes]


def _cii(document: SemanticInvoice) -> bytes:
    from chalicelib.adapters.einvoice.cii import cii_xml

    return cii_xml(document)


def _ubl(document: SemanticInvoice) -> bytes:
    from chalicelib.adapters.einvoice.ubl import ubl_xml

    return ubl_xml(document)


SERIALIZERS: Mapping[str, Serializer] = {"cii": _cii, "ubl": _ubl}


def semantic_of(invoice: Invoice) -> SemanticInvoice:
    """The invoice's EN 16931 terms, worded in its language."""
    return semantic_invoice(invoice, labels(invoice.language)["invoice"])


def serialize(syntax: str, document: SemanticInvoice) -> bytes:
    try:
        serializer = SERIALIZERS[syntax]
    except KeyError:
        raise ValueError(f"no serializer for the e-invoice syntax {syntax!r} (known: {sorted(SERIALIZERS)})") from None
    return serializer(document)
