"""Factur-X / ZUGFeRD, profile EN 16931: the invoice's PDF/A-3B layout carrying its CII as `factur-x.xml`, checked
against the Factur-X XSD before it is attached (DESIGN 14.4).

factur-x's Schematron check needs a Saxon server; it is never called (no network at run time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import facturx
import facturx.facturx as facturx_core

from chalicelib.adapters.billing_labels import labels
from chalicelib.adapters.einvoice import semantic_of, serialize
from chalicelib.adapters.einvoice.cii import FACTURX_LEVEL
from chalicelib.adapters.pdf.invoice_layout import invoice_layout_pdf
from chalicelib.domain.billing.document import Invoice

SYNTAX = "cii"  # what Factur-X embeds


def render_facturx_pdf(invoice: Invoice) -> bytes:
    document = semantic_of(invoice)
    xml = serialize(SYNTAX, document)
    facturx.xml_check_xsd(xml, flavor="factur-x", level=FACTURX_LEVEL)
    visual = invoice_layout_pdf(invoice, document)
    text = labels(invoice.language)["invoice"]
    metadata = {
        "author": invoice.seller.name,
        "keywords": "Factur-X, Invoice",
        "title": f"{invoice.seller.name}: {text['title']} {invoice.number}",
        "subject": f"{text['title']} {invoice.number} ({invoice.issue_date.isoformat()}), {invoice.buyer.name}",
    }
    with _facturx_clock(invoice.issued_at):
        result: bytes = facturx.generate_from_binary(
            visual,
            xml,
            flavor="factur-x",
            level=FACTURX_LEVEL,
            check_xsd=False,  # checked just above, before anything was attached
            check_schematron=False,
            pdf_metadata=metadata,
            lang=invoice.language,
        )
    return result


_CLOCK_LOCK = threading.Lock()


@contextmanager
def _facturx_clock(moment: datetime) -> Iterator[None]:
    """factur-x stamps the XMP, the document info and the attachment with `datetime.now()` and takes no date argument;
    for identical bytes on every render it reads the invoice's issue moment instead, for the duration of the call."""
    fixed_utc = moment.astimezone(UTC)

    class _IssueMoment(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return fixed_utc.astimezone(tz) if tz is not None else fixed_utc.replace(tzinfo=None)

    # The module attribute is read and restored under the lock: two workers rendering at once must not take each
    # other's stand-in for the real class (and leave it patched).
    with _CLOCK_LOCK:
        real = facturx_core.datetime
        facturx_core.datetime = _IssueMoment
        try:
            yield
        finally:
            facturx_core.datetime = real
