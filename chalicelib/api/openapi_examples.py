"""Examples for the OpenAPI document's schemas: what a frontend developer reads first. Each is checked against its
schema by the suite (tests/test_openapi_examples.py) and by Spectral, so an example can never show a shape the server
does not send."""

from __future__ import annotations

from typing import Any

SUBSCRIPTION_ID = "3f0c2a9e-6b1d-4c57-9a43-2d8e5b7f1c60"
ADMIN = {"email": "marie.dupont@dupont-btp.fr", "name": "Marie Dupont"}
CAPABILITIES = {
    "activate": False, "manage_users": True, "transfer_admin": True, "edit_po_number": True,
    "change_payment_method": True, "cancel": True, "view_invoices": True,
}
SEAT_HOLDER_VIEW: dict[str, Any] = {
    "id": SUBSCRIPTION_ID,
    "status": "active",
    "role": "user",
    "product": {"code": "PROFIS-ENG", "name": "PROFIS Engineering Suite"},
    "country": "FR",
    "customer": {"id": "0001234567", "name": "Dupont BTP SARL"},
    "admin": ADMIN,
    "next_renewal_date": "2027-11-26",
    "capabilities": {name: False for name in CAPABILITIES},
}
ADMIN_VIEW: dict[str, Any] = {
    **SEAT_HOLDER_VIEW,
    "role": "admin",
    "capabilities": CAPABILITIES,
    "order_id": "SO-2026-004711",
    "license_quantity": 5,
    "seats_used": 2,
    "po_number": "PO-7781",
    "payment_method": {"type": "card", "brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2029},
    "ordered_at": "2026-11-26T09:58:12.345Z",
    "activation_deadline": "2027-02-24T09:58:12.345Z",
    "activated_at": "2026-11-26T10:00:00.000Z",
    "cancel_at_renewal": False,
    "ended_on": None,
    "agreement": {"version": "FR-fr-2026.1", "accepted_at": "2026-11-26T10:00:00.000Z",
                  "accepted_by": ADMIN["email"]},
    "version": 4,
}
SEAT = {"email": "sam.martin@dupont-btp.fr", "name": "Sam Martin", "assigned_at": "2026-11-27T08:30:00.000Z"}

EXAMPLES: dict[str, Any] = {
    "ActivationIn": {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"},
    "PersonIn": {"email": SEAT["email"], "name": SEAT["name"]},
    "PoNumberIn": {"po_number": "PO-7781"},
    "InvoicePaymentIn": {"type": "invoice"},
    "CardPaymentIn": {"type": "card", "token": "tok_1QxYz2AbCdEf", "brand": "visa", "last4": "4242", "exp_month": 8,
                      "exp_year": 2029},
    "SubscriptionAdminOut": ADMIN_VIEW,
    "SubscriptionUserOut": SEAT_HOLDER_VIEW,
    "SubscriptionListOut": {"items": [ADMIN_VIEW], "next_cursor": None, "hints": {"other_countries": []}},
    "ActivationEmailOut": {
        "message": f"A new activation email was sent to {ADMIN['email']}; earlier links no longer work.",
        "activation_deadline": "2027-02-24T09:58:12.345Z",
    },
    "SeatOut": SEAT,
    "SeatListOut": {"items": [SEAT], "seats": {"quantity": 5, "used": 1}, "next_cursor": None},
    "CandidateListOut": {
        "items": [{"email": SEAT["email"], "name": SEAT["name"], "sources": ["seat_holder", "customer_contact"]}],
        "next_cursor": None,
    },
    "AdminTransferOut": {"id": SUBSCRIPTION_ID, "admin": {"email": SEAT["email"], "name": SEAT["name"]},
                         "message": f"{SEAT['email']} is now the administrator and was told by email."},
    "EntitlementListOut": {
        "items": [{"subscription_id": SUBSCRIPTION_ID, "product": SEAT_HOLDER_VIEW["product"],
                   "customer": SEAT_HOLDER_VIEW["customer"], "valid_until": "2027-11-26"}],
        "next_cursor": None,
    },
    "ErrorOut": {"Code": "BadRequestError", "Message": "email: enter an email address like name@example.com.",
                 "Field": "/email"},
}


def add_examples(components: dict[str, Any]) -> None:
    """Each example on its schema (JSON Schema's `examples`), for the components the document has."""
    for name, example in EXAMPLES.items():
        target = components.get("Error" if name == "ErrorOut" else name)
        if target is not None:
            target["examples"] = [example]
