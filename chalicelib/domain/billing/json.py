"""The document as the API shows it (DESIGN 14.3) and as it is stored (a JSON-safe record that re-renders it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.billing.document import DocumentLink, Invoice, Period
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
        "type": invoice.type,
        "subscription_id": invoice.subscription_id,
        "order_id": invoice.order_id,
        "kind": invoice.kind,
        "issue_date": invoice.issue_date.isoformat(),
        "issued_at": utc_iso(invoice.issued_at),  # milliseconds, as every timestamp the API sends
        "due_date": invoice.due_date.isoformat(),
        "period": _period_json(invoice.period),
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
                "period": _period_json(line.period),
                "tax_category": line.tax_category,
                "tax_rate": money_str(line.tax_rate),
            }
            for line in invoice.lines
        ],
        "currency": invoice.currency,
        "net_amount": money_str(invoice.net_amount),
        "tax_rate": money_str(invoice.tax_rate),
        "tax_amount": money_str(invoice.tax_amount),
        "total_amount": money_str(invoice.total_amount),
        "tax_breakdown": [
            {
                "category": entry.category,
                "rate": money_str(entry.rate),
                "taxable_amount": money_str(entry.taxable_amount),
                "tax_amount": money_str(entry.tax_amount),
                "exemption_reason": entry.exemption.text if entry.exemption else None,
            }
            for entry in invoice.tax_breakdown
        ],
        "payment_method": method,
        "corrects": None if invoice.cancels is None else {
            "id": invoice.cancels.id,
            "number": invoice.cancels.number,
            "issue_date": invoice.cancels.issue_date.isoformat(),
        },
        "replaces": _link_json(invoice.replaces),
        "corrected_by": None if invoice.corrected_by is None else {
            "credit_note": _link_json(invoice.corrected_by.credit_note),
            "replacement": _link_json(invoice.corrected_by.replacement),
        },
        # DESIGN 15.3: the VAT total in the seller's accounting currency when the invoice is in another one
        "tax_currency": None
        if invoice.tax_currency is None
        else {
            "code": invoice.tax_currency.code,
            "rate": str(invoice.tax_currency.rate),
            "tax_amount": money_str(invoice.tax_currency.tax_amount),
        },
    }


def _link_json(link: DocumentLink | None) -> dict[str, str] | None:
    return None if link is None else {"id": link.id, "number": link.number}


def _period_json(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def invoice_to_record(invoice: Invoice) -> dict[str, Any]:
    """Everything needed to re-render the invoice, JSON-safe (strings, ints, bools, lists, dicts: no floats; amounts
    and rates are decimal strings)."""
    return invoice.model_dump(mode="json")


def invoice_from_record(record: Mapping[str, Any]) -> Invoice:
    """A stored record, in the current layout or the single-rate one written before documents had lines' VAT."""
    return Invoice.model_validate(dict(record))
