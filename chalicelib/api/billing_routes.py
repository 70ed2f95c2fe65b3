"""The admin's billing routes (DESIGN 14.4, 15.4): invoices, one invoice, its PDF and its e-invoice XML, the agreement
PDF. Admin only (a seat holder gets 403, anyone else 404), readable while ENDED; a pending subscription has no invoice.

The list and the detail never load the PDF libraries; the PDF and XML routes serve the kept bytes (rendering them once
if the email worker has not yet)."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.api.pipeline import PDF_RESPONSE, XML_RESPONSE, Call, PortalBlueprint, portal_route
from chalicelib.domain.models import Role
from chalicelib.services.billing import Document

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
    return _pdf(call.container.billing.invoice_pdf(call.subject, _invoice_id(call)))


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
    return _pdf(call.container.billing.agreement_pdf(call.subject))


def _invoice_id(call: Call[None]) -> str:
    return str((call.request.uri_params or {}).get("invoice_id", ""))
