"""DESIGN section 4's sample "order placed" message: the local stack's demo order, the tests' and the bench's base."""

from __future__ import annotations

from typing import Any

SAMPLE_ORDER: dict[str, Any] = {
    "order_id": "4500012345",
    "ordered_at": "2026-11-26T09:30:00Z",
    "country": "FR",
    "locale": "fr-FR",
    "customer": {"id": "0001234567", "name": "Dupont BTP SARL"},
    "admin": {"email": "marie.dupont@example.fr", "name": "Marie Dupont"},
    "product": {"code": "PROFIS-ENG", "name": "PROFIS Engineering Suite"},
    "license_quantity": 5,
    "term_months": 12,
    "unit_price": "450.00",
    "currency": "EUR",
    "po_number": "PO-7781",
    "payment_method": {"type": "invoice"},
}
