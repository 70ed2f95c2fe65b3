"""The invoice PDF: rendered once from the immutable invoice record, kept, and served as kept (DESIGN 14.2).

Rendering happens where invoices are issued: the delivery of the `invoice_issued` email renders and keeps the PDF
(a failure there is retried like any email), and a download that comes first renders and keeps it too. Rendering is
deterministic, so whichever comes first, every copy has the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.errors import NotFound
from chalicelib.domain.mail import Attachment, OutgoingEmail
from chalicelib.services import emails
from chalicelib.services.ports.invoices import InvoiceFiles, InvoiceRenderer, InvoiceStore

if TYPE_CHECKING:  # a pydantic model: the subscription reads never import it
    from chalicelib.domain.billing.document import Invoice

PDF = "application/pdf"


def object_key(invoice: Invoice) -> str:
    return f"invoices/{invoice.subscription_id}/{invoice.id}.pdf"


def pdf_filename(invoice: Invoice) -> str:
    return f"{invoice.number}.pdf"


class InvoiceDocuments:
    def __init__(self, invoices: InvoiceStore, files: InvoiceFiles, render: InvoiceRenderer) -> None:
        self._invoices = invoices
        self._files = files
        self._render = render

    def pdf_of(self, invoice: Invoice) -> bytes:
        key = object_key(invoice)
        kept = self._files.get(key)
        if kept is not None:
            return kept
        rendered = self._render(invoice)
        self._files.put(key, rendered)
        return rendered

    def attachments_for(self, email: OutgoingEmail) -> tuple[Attachment, ...]:
        if email.kind != emails.INVOICE_ISSUED:
            return ()
        invoice = self._invoices.get_invoice(email.params["subscription_id"], email.params["invoice_id"])
        if invoice is None:  # never: the email and its invoice commit together
            raise NotFound(f"invoice {email.params['invoice_id']} of email {email.mail_id} is missing")
        return (Attachment(pdf_filename(invoice), PDF, self.pdf_of(invoice)),)
