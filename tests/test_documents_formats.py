"""Invoice documents carry their format (issue 13 item 3): the renderer is asked for a format, each format is kept under
its own key, and the Factur-X PDF keeps exactly the key every invoice issued so far is stored under (the bucket's
Object Lock means no kept object can ever move). The use case runs here on in-memory ports, without moto."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.mail import OutgoingEmail
from chalicelib.services import emails
from chalicelib.services.invoice_documents import InvoiceDocuments, document_filename, object_key, readable_format
from chalicelib.services.ports.invoices import FACTURX_PDF, UBL_XML, VIEW_PDF, DocumentFormat
from tests.test_billing_domain import make_invoice

UNKNOWN = DocumentFormat("unknown-xml", "application/xml", "xml")


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

    def embedded_xml(pdf: bytes) -> bytes:
        return b"embedded in " + pdf

    return InvoiceDocuments(OneInvoice(invoice), files, render, embedded_xml)


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

    assert set(RENDERERS) == {"facturx-pdf", "ubl-xml", "view-pdf"}
    pdf = render_invoice(invoice, FACTURX_PDF)
    assert pdf.startswith(b"%PDF-") and facturx.get_xml_from_pdf(pdf, check_xsd=False)[0] == "factur-x.xml"
    with pytest.raises(ValueError, match="unknown-xml"):
        render_invoice(invoice, UNKNOWN)


# ------------------------------------------------------------------- a UBL seller (DESIGN 15.4): the UBL and its view


@pytest.fixture
def ubl_invoice():
    invoice = make_invoice(country="BE", language="fr", buyer_address_country="BE")
    assert invoice.seller.einvoice.syntax == "ubl"  # the local stack's BE seller
    return invoice


def _documents_of(invoice, files, renders, embedded_xml=None):
    def render(rendered_invoice, fmt):
        renders.append(fmt.name)
        return f"{fmt.name}:{rendered_invoice.number}".encode()

    def nothing_embedded(pdf: bytes) -> bytes:
        raise AssertionError("a UBL seller's PDF embeds nothing")

    return InvoiceDocuments(OneInvoice(invoice), files, render, embedded_xml or nothing_embedded)


def test_a_ubl_sellers_pdf_is_the_view_and_its_xml_the_ubl_each_kept_under_its_format(ubl_invoice, files, renders):
    documents = _documents_of(ubl_invoice, files, renders)
    assert readable_format(ubl_invoice) == VIEW_PDF
    assert documents.pdf_of(ubl_invoice) == b"view-pdf:BE-2026-000001"
    assert documents.xml_of(ubl_invoice) == b"ubl-xml:BE-2026-000001"
    assert documents.xml_of(ubl_invoice) == b"ubl-xml:BE-2026-000001"
    assert renders == ["view-pdf", "ubl-xml"]
    assert files.objects == {
        "invoices/sub-0001/inv-0001.view-pdf.pdf": (b"view-pdf:BE-2026-000001", "application/pdf"),
        "invoices/sub-0001/inv-0001.ubl-xml.xml": (b"ubl-xml:BE-2026-000001", "application/xml"),
    }


def test_a_factur_x_sellers_xml_is_the_cii_read_from_the_kept_pdf(invoice, documents, files, renders):
    files.objects["invoices/sub-0001/inv-0001.pdf"] = (b"%PDF kept", "application/pdf")
    assert documents.xml_of(invoice) == b"embedded in %PDF kept"
    assert renders == []


def test_the_email_of_a_ubl_sellers_invoice_attaches_the_pdf_and_the_ubl(ubl_invoice, files, renders):
    documents = _documents_of(ubl_invoice, files, renders)
    email = OutgoingEmail(
        mail_id="m-1", kind=emails.INVOICE_ISSUED, to="a@example.be", locale="fr-BE", country="BE",
        params={"subscription_id": "sub-0001", "invoice_id": "inv-0001"}, due_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    attached = documents.attachments_for(email)
    assert [(a.filename, a.content_type, a.data) for a in attached] == [
        ("BE-2026-000001.pdf", "application/pdf", b"view-pdf:BE-2026-000001"),
        ("BE-2026-000001.xml", "application/xml", b"ubl-xml:BE-2026-000001"),
    ]


def test_a_ubl_sellers_document_kept_as_factur_x_before_documents_followed_the_syntax_stays_factur_x(
    ubl_invoice, files, renders
):
    documents = _documents_of(ubl_invoice, files, renders, embedded_xml=lambda pdf: b"CII of " + pdf)
    files.objects["invoices/sub-0001/inv-0001.pdf"] = (b"%PDF Factur-X issued earlier", "application/pdf")

    assert documents.pdf_of(ubl_invoice) == b"%PDF Factur-X issued earlier"
    assert documents.xml_of(ubl_invoice) == b"CII of %PDF Factur-X issued earlier"
    assert renders == [] and set(files.objects) == {"invoices/sub-0001/inv-0001.pdf"}
