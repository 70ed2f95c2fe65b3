"""The document renderers as the use cases take them. The PDF/XML libraries (`chalicelib.adapters.pdf`: fpdf2,
factur-x) are imported on the first call, never when this module loads: the portal API's read paths must not pay for
them."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from chalicelib.domain.agreements import AgreementText
from chalicelib.domain.billing.document import Invoice
from chalicelib.domain.models import Subscription
from chalicelib.services.ports.invoices import FACTURX_PDF, UBL_XML, VIEW_PDF, Acceptance, DocumentFormat

FACTURX_ATTACHMENT = "factur-x.xml"


def _facturx_pdf(invoice: Invoice) -> bytes:
    from chalicelib.adapters.pdf.facturx_pdf import render_facturx_pdf

    return render_facturx_pdf(invoice)


def _ubl_xml(invoice: Invoice) -> bytes:
    from chalicelib.adapters.einvoice import semantic_of, serialize

    return serialize("ubl", semantic_of(invoice))


def _view_pdf(invoice: Invoice) -> bytes:
    from chalicelib.adapters.einvoice import semantic_of
    from chalicelib.adapters.pdf.invoice_layout import invoice_layout_pdf

    return invoice_layout_pdf(invoice, semantic_of(invoice))


# A new format is its module and one entry here, under its DocumentFormat's name.
RENDERERS: Mapping[str, Callable[[Invoice], bytes]] = {
    FACTURX_PDF.name: _facturx_pdf,
    UBL_XML.name: _ubl_xml,
    VIEW_PDF.name: _view_pdf,
}


def render_invoice(invoice: Invoice, fmt: DocumentFormat) -> bytes:
    renderer = RENDERERS.get(fmt.name)
    if renderer is None:
        raise ValueError(f"no renderer for the document format {fmt.name!r} (known: {sorted(RENDERERS)})")
    return renderer(invoice)


def embedded_xml(pdf: bytes) -> bytes:
    """The CII a Factur-X PDF carries, as embedded."""
    import facturx

    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    if filename != FACTURX_ATTACHMENT:
        raise ValueError(f"the kept Factur-X PDF carries no {FACTURX_ATTACHMENT}")
    data: bytes = xml
    return data


def render_agreement(subscription: Subscription, agreement: AgreementText, acceptance: Acceptance | None) -> bytes:
    from chalicelib.adapters.pdf.agreement import AcceptanceRecord, AgreementFacts, render_agreement_pdf

    facts = AgreementFacts(
        subscription_id=subscription.id,
        product_name=subscription.product.name,
        customer_name=subscription.customer.name,
        country=subscription.country,
        license_quantity=subscription.license_quantity,
    )
    record = (
        None
        if acceptance is None
        else AcceptanceRecord(
            name=acceptance.name,
            email=acceptance.email,
            accepted_at=acceptance.accepted_at,
            version=acceptance.version,
            channel=acceptance.channel,
        )
    )
    # Dated by the acceptance (or the order while pending): the same agreement renders the same bytes.
    generated_at = acceptance.accepted_at if acceptance is not None else subscription.ordered_at
    return render_agreement_pdf(
        agreement.title, agreement.text, agreement.version, facts, record, subscription.language, generated_at
    )
