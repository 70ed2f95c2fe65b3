"""The admin's billing reads (DESIGN 14.4, 15.4): invoices of a subscription, one invoice, its PDF and its e-invoice
XML, the agreement PDF.

Pending subscriptions have no invoice; ENDED ones keep theirs. The route has authorized the caller as the admin.
Only the PDF and XML methods may render (the PDF and XML libraries load then, never for the list or the detail)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.errors import NotFound
from chalicelib.domain.models import SubscriptionStatus
from chalicelib.services.access import Authorized
from chalicelib.services.invoice_documents import InvoiceDocuments, document_filename, readable_format, xml_filename
from chalicelib.services.ports.common import AgreementCatalog
from chalicelib.services.ports.invoices import Acceptance, AgreementRenderer, InvoiceStore

if TYPE_CHECKING:  # a pydantic model: the subscription reads never import it
    from chalicelib.domain.billing.document import Invoice

NO_SUCH_INVOICE = "This subscription has no invoice with this id."
_INVOICE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INVOICE_ID_PATTERN = _INVOICE_ID.pattern


def is_invoice_id(value: str) -> bool:
    """The shape of a document id (a malformed one is the same 404 as an unknown one)."""
    return bool(_INVOICE_ID.fullmatch(value))


@dataclass(frozen=True)
class Document:
    filename: str
    data: bytes


class Billing:
    def __init__(
        self,
        invoices: InvoiceStore,
        documents: InvoiceDocuments,
        agreements: AgreementCatalog,
        render_agreement: AgreementRenderer,
    ) -> None:
        self._invoices = invoices
        self._documents = documents
        self._agreements = agreements
        self._render_agreement = render_agreement

    def list_invoices(self, admin: Authorized, limit: int, cursor: str | None) -> tuple[list[Invoice], str | None]:
        if admin.subscription.status is SubscriptionStatus.PENDING_ACTIVATION:
            return [], None  # nothing is ever invoiced before activation
        return self._invoices.list_invoices(admin.subscription.id, limit, cursor)

    def invoice(self, admin: Authorized, invoice_id: str) -> Invoice:
        if not _INVOICE_ID.fullmatch(invoice_id):
            raise NotFound(NO_SUCH_INVOICE)
        found = self._invoices.get_invoice(admin.subscription.id, invoice_id)
        if found is None:
            raise NotFound(NO_SUCH_INVOICE)
        return found

    def invoice_pdf(self, admin: Authorized, invoice_id: str) -> Document:
        invoice = self.invoice(admin, invoice_id)
        fmt = readable_format(invoice)
        return Document(document_filename(invoice, fmt), self._documents.pdf_of(invoice))

    def invoice_xml(self, admin: Authorized, invoice_id: str) -> Document:
        """The e-invoice of the document (DESIGN 15.4): the CII inside its Factur-X, or its UBL."""
        invoice = self.invoice(admin, invoice_id)
        return Document(xml_filename(invoice), self._documents.xml_of(invoice))

    def agreement_pdf(self, admin: Authorized) -> Document:
        """The accepted version with its acceptance record; for a pending subscription the version to accept."""
        subscription = admin.subscription
        evidence = subscription.evidence
        agreement = None
        acceptance = None
        if evidence is not None:
            agreement = self._agreements.get(subscription.country, subscription.language, evidence.agreement_version)
            # The evidence keeps the email; the name is the admin's when the admin is still the one who accepted.
            same_person = subscription.admin.key == evidence.accepted_by.strip().lower()
            acceptance = Acceptance(
                name=subscription.admin.name if same_person else evidence.accepted_by,
                email=evidence.accepted_by,
                accepted_at=evidence.accepted_at,
                version=evidence.agreement_version,
                channel=evidence.channel.value,
            )
        if agreement is None:
            agreement = self._agreements.current(subscription.country, subscription.language)
        data = self._render_agreement(subscription, agreement, acceptance)
        return Document(f"agreement-{subscription.order_id}-{agreement.version}.pdf", data)
