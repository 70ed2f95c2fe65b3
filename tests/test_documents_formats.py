"""Invoice documents carry their format (issue 13 item 3): the renderer is asked for a format, each format is kept under
its own key, and the Factur-X PDF keeps exactly the key every invoice issued so far is stored under (the bucket's
Object Lock means no kept object can ever move). The use case runs here on in-memory ports, without moto."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.mail import OutgoingEmail
from chalicelib.services import emails
from chalicelib.services.invoice_documents import InvoiceDocuments, document_filename, object_key, readable_format
from chalicelib.services.ports.invoices import FACTURX_PDF, DocumentFormat
from tests.test_billing_domain import make_invoice

UBL_XML = DocumentFormat("ubl-xml", "application/xml", "xml")  # the next format, as it would be declared


class MemoryFiles:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def get(self, key: str) -> bytes | None:
        kept = self.objects.get(key)
        return None if kept is None else kept[0]

    def put(self, key: str, data: bytes, media_type: str) -> None:
        self.objects[key] = (data, media_type)


class OneInvoice:
    def __init__(self, invoice) -> None:
        self.invoice = invoice

    def get_invoice(self, subscription_id, invoice_id):
        matches = (subscription_id, invoice_id) == (self.invoice.subscription_id, self.invoice.id)
        return self.invoice if matches else None


@pytest.fixture
def invoice():
    return make_invoice()


@pytest.fixture
def renders():
    return []


@pytest.fixture
def files():
    return MemoryFiles()


@pytest.fixture
def documents(invoice, files, renders):
    def render(rendered_invoice, fmt):
        renders.append((rendered_invoice.id, fmt.name))
        return f"{fmt.name}:{rendered_invoice.number}".encode()

    return InvoiceDocuments(OneInvoice(invoice), files, render)


def test_the_factur_x_pdf_keeps_the_key_of_every_invoice_issued_before_formats(invoice):
    assert object_key(invoice, FACTURX_PDF) == "invoices/sub-0001/inv-0001.pdf"
    assert object_key(invoice) == "invoices/sub-0001/inv-0001.pdf"
    assert document_filename(invoice, FACTURX_PDF) == "FR-2026-000001.pdf"
    assert readable_format(invoice) == FACTURX_PDF
    assert (FACTURX_PDF.name, FACTURX_PDF.media_type) == ("facturx-pdf", "application/pdf")


def test_another_format_is_kept_beside_it_under_its_own_key(invoice):
    key = object_key(invoice, UBL_XML)
    assert key == "invoices/sub-0001/inv-0001.ubl-xml.xml"
    assert key.startswith("invoices/sub-0001/") and key != object_key(invoice, FACTURX_PDF)
    assert document_filename(invoice, UBL_XML) == "FR-2026-000001.xml"


def test_a_pdf_kept_under_todays_key_is_served_as_kept_and_never_rendered_again(invoice, documents, files, renders):
    files.objects["invoices/sub-0001/inv-0001.pdf"] = (b"%PDF kept in 2026", "application/pdf")

    assert documents.pdf_of(invoice) == b"%PDF kept in 2026"
    assert documents.document(invoice, FACTURX_PDF) == b"%PDF kept in 2026"
    assert renders == []


def test_each_format_is_rendered_once_and_kept_with_its_media_type(invoice, documents, files, renders):
    assert documents.document(invoice, UBL_XML) == b"ubl-xml:FR-2026-000001"
    assert documents.pdf_of(invoice) == b"facturx-pdf:FR-2026-000001"
    assert documents.document(invoice, UBL_XML) == b"ubl-xml:FR-2026-000001"
    assert documents.pdf_of(invoice) == b"facturx-pdf:FR-2026-000001"

    assert renders == [("inv-0001", "ubl-xml"), ("inv-0001", "facturx-pdf")]
    assert files.objects == {
        "invoices/sub-0001/inv-0001.ubl-xml.xml": (b"ubl-xml:FR-2026-000001", "application/xml"),
        "invoices/sub-0001/inv-0001.pdf": (b"facturx-pdf:FR-2026-000001", "application/pdf"),
    }


def test_the_invoice_email_attaches_the_readable_format(invoice, documents):
    email = OutgoingEmail(
        mail_id="m-1", kind=emails.INVOICE_ISSUED, to="a@example.fr", locale="fr-FR", country="FR",
        params={"subscription_id": "sub-0001", "invoice_id": "inv-0001"}, due_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    [attachment] = documents.attachments_for(email)
    assert (attachment.filename, attachment.content_type) == ("FR-2026-000001.pdf", "application/pdf")
    assert attachment.data == b"facturx-pdf:FR-2026-000001"


def test_the_renderer_adapter_renders_the_factur_x_pdf_and_refuses_a_format_it_does_not_know(invoice):
    import facturx

    from chalicelib.adapters.documents import RENDERERS, render_invoice

    assert set(RENDERERS) == {"facturx-pdf"}
    pdf = render_invoice(invoice, FACTURX_PDF)
    assert pdf.startswith(b"%PDF-") and facturx.get_xml_from_pdf(pdf, check_xsd=False)[0] == "factur-x.xml"
    with pytest.raises(ValueError, match="ubl-xml"):
        render_invoice(invoice, UBL_XML)
