"""Issued invoices and the invoice number series (DESIGN 14.2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from chalicelib.domain.agreements import AgreementText
from chalicelib.domain.models import Subscription

if TYPE_CHECKING:  # a pydantic model: the subscription reads never import it
    from chalicelib.domain.billing.document import Invoice

# The labels of what `UnitOfWork.issue` stages, as a cancelled transaction's `WriteConflict.failed` names them:
# "invoice" lost = this cause (e.g. this term) already has its document; "counter" lost = someone took the number in
# between.
INVOICE_LABEL = "invoice"
COUNTER_LABEL = "counter"
# `UnitOfWork.correct`'s guard: lost = the document was corrected meanwhile (or is not stored as a document).
CORRECTION_LABEL = "correction"


class InvoiceStore(Protocol):
    def last_number(self, series: str) -> int:
        """The last number issued in the series (0 before the first), read consistently."""

    def get_invoice(self, subscription_id: str, invoice_id: str) -> Invoice | None: ...

    def invoice_for_term(self, subscription_id: str, period_start: date) -> Invoice | None: ...

    def list_invoices(
        self, subscription_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Invoice], str | None]:
        """Newest period first (a page holds `limit` causes: a cause with two documents lists both)."""


class InvoiceFiles(Protocol):
    """Where rendered invoice documents are kept (S3 with a 10-year Object Lock in AWS)."""

    def get(self, key: str) -> bytes | None:
        """None when nothing is stored under `key`; raises Unavailable when storage cannot answer."""

    def put(self, key: str, data: bytes, media_type: str) -> None: ...


@dataclass(frozen=True)
class DocumentFormat:
    """A form in which an issued document is rendered, kept and served: a syntax and its container."""

    name: str
    media_type: str
    extension: str  # of the file name a download or an attachment gets


FACTURX_PDF = DocumentFormat("facturx-pdf", "application/pdf", "pdf")
"""PDF/A-3 carrying the CII e-invoice (DESIGN 14.4): every invoice issued so far has been kept in it."""

UBL_XML = DocumentFormat("ubl-xml", "application/xml", "xml")
"""The UBL 2.1 Peppol BIS Billing 3.0 e-invoice of a seller whose syntax is `ubl` (DESIGN 15.4)."""

VIEW_PDF = DocumentFormat("view-pdf", "application/pdf", "pdf")
"""The readable PDF/A of a UBL seller's document: the same page as the Factur-X, with no CII embedded (the UBL is the
invoice; a second e-invoice inside its view would be a second, competing original)."""

EmbeddedXml = Callable[[bytes], bytes]
"""The e-invoice embedded in a kept Factur-X PDF (`factur-x.xml`); loads the XML library on first use."""

InvoiceRenderer = Callable[["Invoice", DocumentFormat], bytes]
"""The invoice in the format (deterministic); the heavy PDF/XML libraries load on the first call only."""


@dataclass(frozen=True)
class Acceptance:
    """Who accepted the agreement, as the agreement PDF states it."""

    name: str
    email: str
    accepted_at: datetime
    version: str
    channel: str


AgreementRenderer = Callable[[Subscription, AgreementText, Acceptance | None], bytes]
"""The agreement PDF of a subscription (deterministic for the same inputs); loads the PDF library on first use."""
