"""Invoice documents: rendered once from the immutable invoice record, kept, and served as kept (DESIGN 14.2).

Rendering happens where invoices are issued: the delivery of the `invoice_issued` email renders and keeps the PDF
(a failure there is retried like any email), and a download that comes first renders and keeps it too. Rendering is
deterministic, so whichever comes first, every copy has the same bytes.

Each format is kept under its own key. The bucket's Object Lock keeps an object where it was first put for ten years,
so the Factur-X PDF keeps the key every invoice had before formats existed; any other format is kept beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.errors import NotFound
from chalicelib.domain.mail import Attachment, OutgoingEmail
from chalicelib.services.ports.invoices import FACTURX_PDF, DocumentFormat, InvoiceFiles, InvoiceRenderer, InvoiceStore

if TYPE_CHECKING:  # a pydantic model: the subscription reads never import it
    from chalicelib.domain.billing.document import Invoice


def object_key(invoice: Invoice, fmt: DocumentFormat = FACTURX_PDF) -> str:
    stem = f"invoices/{invoice.subscription_id}/{invoice.id}"
    if fmt == FACTURX_PDF:
        return f"{stem}.pdf"  # where the invoices issued before formats existed are kept, and can never move from
    return f"{stem}.{fmt.name}.{fmt.extension}"


def document_filename(invoice: Invoice, fmt: DocumentFormat = FACTURX_PDF) -> str:
    return f"{invoice.number}.{fmt.extension}"


def readable_format(invoice: Invoice) -> DocumentFormat:
    """The PDF a reader gets (the download, the email's attachment): Factur-X, for every seller today."""
    return FACTURX_PDF


class InvoiceDocuments:
    def __init__(self, invoices: InvoiceStore, files: InvoiceFiles, render: InvoiceRenderer) -> None:
        self._invoices = invoices
        self._files = files
        self._render = render

    def document(self, invoice: Invoice, fmt: DocumentFormat) -> bytes:
        key = object_key(invoice, fmt)
        kept = self._files.get(key)
        if kept is not None:
            return kept
        rendered = self._render(invoice, fmt)
        self._files.put(key, rendered, fmt.media_type)
        return rendered

    def pdf_of(self, invoice: Invoice) -> bytes:
        return self.document(invoice, readable_format(invoice))

    def attachments_for(self, email: OutgoingEmail) -> tuple[Attachment, ...]:
        """The PDFs an email carries (the email channel's attachment rule for its kind): the invoice of an
        `invoice_issued` email; the credit note and the replacement of an `invoice_corrected` one
        (`attached_invoice_ids`, in that order)."""
        subscription_id = email.params["subscription_id"]
        wanted = email.params.get("attached_invoice_ids") or [email.params["invoice_id"]]
        attachments = []
        for document_id in wanted:
            invoice = self._invoices.get_invoice(subscription_id, document_id)
            if invoice is None:  # never: the email and its documents commit together
                raise NotFound(f"invoice {document_id} of email {email.mail_id} is missing")
            fmt = readable_format(invoice)
            attachments.append(Attachment(document_filename(invoice, fmt), fmt.media_type, self.pdf_of(invoice)))
        return tuple(attachments)
