"""The document as the API shows it (DESIGN 14.3) and as it is stored (a JSON-safe record that re-renders it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.billing.document import Invoice
from chalicelib.domain.billing.money import money_str, price_str
from chalicelib.domain.models import PostalAddress, utc_iso


def _address_json(address: PostalAddress | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "lines": list(address.lines),
        "postal_code": address.postal_code,
        "city": address.city,
        "country": address.country,
    }


def invoice_to_json(invoice: Invoice) -> dict[str, Any]:
    """The invoice exactly as the API shows it (DESIGN 14.3)."""
    method: dict[str, Any] = {"type": invoice.payment_method.type}
    if invoice.payment_method.type == "card":  # a detail the card lacks is left out, never null (the document's rule)
        shown = {"brand": invoice.payment_method.brand, "last4": invoice.payment_method.last4}
        method.update({key: value for key, value in shown.items() if value is not None})
    return {
        "id": invoice.id,
        "number": invoice.number,
        "subscription_id": invoice.subscription_id,
        "order_id": invoice.order_id,
        "kind": invoice.kind,
        "issue_date": invoice.issue_date.isoformat(),
        "issued_at": utc_iso(invoice.issued_at),  # milliseconds, as every timestamp the API sends
        "due_date": invoice.due_date.isoformat(),
        "period": {"start": invoice.period.start.isoformat(), "end": invoice.period.end.isoformat()},
        "seller": {
            "name": invoice.seller.name,
            "address": _address_json(invoice.seller.address),
            "vat_id": invoice.seller.vat_id,
            "registration": invoice.seller.registration,
        },
        "buyer": {
            "id": invoice.buyer.id,
            "name": invoice.buyer.name,
            "vat_id": invoice.buyer.vat_id,
            "address": _address_json(invoice.buyer.address),
            "country": invoice.buyer.country,
        },
        "po_number": invoice.po_number,
        "lines": [
            {
                "product_code": line.product_code,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": price_str(line.unit_price),
                "amount": money_str(line.amount),
            }
            for line in invoice.lines
        ],
        "currency": invoice.currency,
        "net_amount": money_str(invoice.net_amount),
        "tax_rate": money_str(invoice.tax_rate),
        "tax_amount": money_str(invoice.tax_amount),
        "total_amount": money_str(invoice.total_amount),
        "payment_method": method,
    }


def invoice_to_record(invoice: Invoice) -> dict[str, Any]:
    """Everything needed to re-render the invoice, JSON-safe (strings, ints, bools, lists, dicts: no floats; amounts
    and rates are decimal strings)."""
    return invoice.model_dump(mode="json")


def invoice_from_record(record: Mapping[str, Any]) -> Invoice:
    """A stored record, in the current layout or the single-rate one written before documents had lines' VAT."""
    return Invoice.model_validate(dict(record))
