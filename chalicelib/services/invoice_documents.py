"""Invoice documents: rendered once from the immutable invoice record, kept, and served as kept (DESIGN 14.2).

Rendering happens where invoices are issued: the delivery of the `invoice_issued` email renders and keeps the PDF
(a failure there is retried like any email), and a download that comes first renders and keeps it too. Rendering is
deterministic, so whichever comes first, every copy has the same bytes.

Each format is kept under its own key. The bucket's Object Lock keeps an object where it was first put for ten years,
so the Factur-X PDF keeps the key every invoice had before formats existed; any other format is kept beside it.

Which formats a document has follows its seller's e-invoice syntax as the invoice record keeps it (DESIGN 15.4):
`factur-x`: the Factur-X PDF, whose embedded CII is the e-invoice; `ubl`: the UBL document (the e-invoice) and a
readable PDF/A with nothing embedded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.errors import NotFound
from chalicelib.domain.mail import Attachment, OutgoingEmail
from chalicelib.services.ports.invoices import (
    FACTURX_PDF,
    UBL_XML,
    VIEW_PDF,
    DocumentFormat,
    EmbeddedXml,
    InvoiceFiles,
    InvoiceRenderer,
    InvoiceStore,
)

if TYPE_CHECKING:  # a pydantic model: the subscription reads never import it
    from chalicelib.domain.billing.document import Invoice

XML_MEDIA_TYPE = "application/xml"


def object_key(invoice: Invoice, fmt: DocumentFormat = FACTURX_PDF) -> str:
    stem = f"invoices/{invoice.subscription_id}/{invoice.id}"
    if fmt == FACTURX_PDF:
        return f"{stem}.pdf"  # where the invoices issued before formats existed are kept, and can never move from
    return f"{stem}.{fmt.name}.{fmt.extension}"


def document_filename(invoice: Invoice, fmt: DocumentFormat = FACTURX_PDF) -> str:
    return f"{invoice.number}.{fmt.extension}"


def issues_ubl(invoice: Invoice) -> bool:
    return invoice.seller.einvoice.syntax == "ubl"


def readable_format(invoice: Invoice) -> DocumentFormat:
    """The PDF a reader gets (the download, the email's attachment): the Factur-X, or a UBL seller's PDF/A view."""
    return VIEW_PDF if issues_ubl(invoice) else FACTURX_PDF


def xml_filename(invoice: Invoice) -> str:
    return f"{invoice.number}.xml"


class InvoiceDocuments:
    def __init__(
        self, invoices: InvoiceStore, files: InvoiceFiles, render: InvoiceRenderer, embedded_xml: EmbeddedXml
    ) -> None:
        self._invoices = invoices
        self._files = files
        self._render = render
        self._embedded_xml = embedded_xml

    def document(self, invoice: Invoice, fmt: DocumentFormat) -> bytes:
        key = object_key(invoice, fmt)
        kept = self._files.get(key)
        if kept is not None:
            return kept
        rendered = self._render(invoice, fmt)
        self._files.put(key, rendered, fmt.media_type)
        return rendered

    def pdf_of(self, invoice: Invoice) -> bytes:
        if issues_ubl(invoice):
            kept = self._files.get(object_key(invoice, VIEW_PDF))
            if kept is not None:
                return kept
            issued_before = self._files.get(object_key(invoice, FACTURX_PDF))
            if issued_before is not None:  # see `_issued_as_facturx`
                return issued_before
        return self.document(invoice, readable_format(invoice))

    def xml_of(self, invoice: Invoice) -> bytes:
        """The e-invoice: the UBL document, or the CII inside the kept Factur-X (read from the kept bytes, so it is
        the XML the buyer received even if the serializer has changed since)."""
        if issues_ubl(invoice):
            kept = self._files.get(object_key(invoice, UBL_XML))
            if kept is not None:
                return kept
            issued_before = self._issued_as_facturx(invoice)
            if issued_before is not None:
                return self._embedded_xml(issued_before)
            return self.document(invoice, UBL_XML)
        return self._embedded_xml(self.pdf_of(invoice))

    def _issued_as_facturx(self, invoice: Invoice) -> bytes | None:
        """The Factur-X kept for a UBL seller's document that has no view: one issued before documents followed the
        seller's syntax. A document never changes, so its PDF and its XML stay that Factur-X's."""
        if self._files.get(object_key(invoice, VIEW_PDF)) is not None:
            return None
        return self._files.get(object_key(invoice, FACTURX_PDF))

    def attachments_for(self, email: OutgoingEmail) -> tuple[Attachment, ...]:
        """The documents an email carries (the email channel's attachment rule for its kind): the invoice of an
        `invoice_issued` email; the credit note and the replacement of an `invoice_corrected` one
        (`attached_invoice_ids`, in that order). Each is its PDF, and a UBL seller's e-invoice beside it (the PDF is
        only its readable view)."""
        subscription_id = email.params["subscription_id"]
        wanted = email.params.get("attached_invoice_ids") or [email.params["invoice_id"]]
        attachments: list[Attachment] = []
        for document_id in wanted:
            invoice = self._invoices.get_invoice(subscription_id, document_id)
            if invoice is None:  # never: the email and its documents commit together
                raise NotFound(f"invoice {document_id} of email {email.mail_id} is missing")
            fmt = readable_format(invoice)
            attachments.append(Attachment(document_filename(invoice, fmt), fmt.media_type, self.pdf_of(invoice)))
            if issues_ubl(invoice):
                attachments.append(Attachment(xml_filename(invoice), XML_MEDIA_TYPE, self.xml_of(invoice)))
        return tuple(attachments)
