"""The admin's billing routes (DESIGN 14.4, 15.4): invoices, one invoice, its PDF and its e-invoice XML, the agreement
PDF. Admin only (a seat holder gets 403, anyone else 404), readable while ENDED; a pending subscription has no invoice.

The list and the detail never load the PDF libraries; the PDF and XML routes serve the kept bytes (rendering them once
if the email worker has not yet)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Response

from chalicelib.api.pipeline import PDF_RESPONSE, XML_RESPONSE, Call, PortalBlueprint, command, portal_route
from chalicelib.domain.models import Role
from chalicelib.services.billing import Document

if TYPE_CHECKING:  # a pydantic model: imported by the view that reads it
    from chalicelib.api.schemas import InvoiceCorrectionIn

billing_api = PortalBlueprint(__name__)

# API Gateway (and chalice) return a binary body only to a request that accepts it; any other gets this 400.
NEEDS_PDF_ACCEPT = {400: "The request must send `Accept: application/pdf` (a binary response needs it)."}



def _pdf(document: Document) -> Response:
    return Response(
        body=document.data,
        headers={
            "Content-Type": PDF_RESPONSE,
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "Cache-Control": "no-store",
        },
    )


@portal_route(
    billing_api,
    "/subscriptions/{subscription_id}/invoices",
    ["GET"],
    role=Role.ADMIN,
    response="InvoiceListOut",
    paginated=True,
)
def list_invoices(call: Call[None]) -> dict[str, Any]:
    """The subscription's invoices, newest first (none while it is pending; still there once it ended)."""
    items, next_cursor = call.container.billing.list_invoices(call.subject, call.limit, call.cursor)
    from chalicelib.domain.billing.json import invoice_to_json  # pydantic models: not on the subscription reads

    return {"items": [invoice_to_json(i) for i in items], "next_cursor": next_cursor}


@portal_route(
    billing_api,
    "/subscriptions/{subscription_id}/invoices/{invoice_id}",
    ["GET"],
    role=Role.ADMIN,
    response="InvoiceOut",
)
def get_invoice(call: Call[None]) -> dict[str, Any]:
    """One invoice of the subscription (404 for an id of another subscription)."""
    from chalicelib.domain.billing.json import invoice_to_json

    return invoice_to_json(call.container.billing.invoice(call.subject, _invoice_id(call)))


@portal_route(
    billing_api,
    "/subscriptions/{subscription_id}/invoices/{invoice_id}/pdf",
    ["GET"],
    role=Role.ADMIN,
    response=PDF_RESPONSE,
    more_errors=NEEDS_PDF_ACCEPT,
)
def get_invoice_pdf(call: Call[None]) -> Response:
    """The invoice as a Factur-X PDF (send `Accept: application/pdf`): the same bytes on every download."""
    return _pdf(call.container.billing.invoice_pdf(call.subject, _invoice_id(call)))


CORRECTION_BODY = command("InvoiceCorrectionIn")


@portal_route(
    billing_api,
    "/subscriptions/{subscription_id}/invoices/{invoice_id}/correction",
    ["POST"],
    body=CORRECTION_BODY,
    role=Role.ADMIN,
    active=True,
    mutation=True,
    response="InvoiceCorrectionOut",
    status=201,
    more_errors={
        400: "Invalid input, or the correction would change nothing on the invoice. Nothing was changed.",
        404: "No such subscription visible to you, or no such invoice on it.",
        409: "The document is a credit note or was already corrected, or the subscription is not active.",
    },
)
def correct_invoice(call: Call[InvoiceCorrectionIn]) -> Response:
    """Correct an issued invoice: a credit note cancels it and a replacement invoice states the corrected PO number
    or buyer; the subscription keeps them for later invoices, and the admin gets both PDFs by email."""
    from chalicelib.domain.billing.json import invoice_to_json

    corrected = call.container.corrections.correct(call.subject, _invoice_id(call), call.body.correction())
    body = {
        "credit_note": invoice_to_json(corrected.credit_note),
        "replacement": invoice_to_json(corrected.replacement),
    }
    return Response(body=body, status_code=201)


@portal_route(
    billing_api,
    "/subscriptions/{subscription_id}/invoices/{invoice_id}/xml",
    ["GET"],
    role=Role.ADMIN,
    response=XML_RESPONSE,
)
def get_invoice_xml(call: Call[None]) -> Response:
    """The document's e-invoice: the CII its Factur-X carries, or its UBL (Peppol BIS 3.0)."""
    document = call.container.billing.invoice_xml(call.subject, _invoice_id(call))
    return Response(
        body=document.data.decode("utf-8"),  # text, not a binary type: any Accept gets it
        headers={
            "Content-Type": XML_RESPONSE,
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "Cache-Control": "no-store",
        },
    )


@portal_route(
    billing_api, "/subscriptions/{subscription_id}/agreement/pdf", ["GET"], role=Role.ADMIN, response=PDF_RESPONSE,
    more_errors=NEEDS_PDF_ACCEPT,
)
def get_agreement_pdf(call: Call[None]) -> Response:
    """The agreement as a PDF (send `Accept: application/pdf`), with the acceptance record once accepted."""
    return _pdf(call.container.billing.agreement_pdf(call.subject))


def _invoice_id(call: Call[Any]) -> str:
    return str((call.request.uri_params or {}).get("invoice_id", ""))
