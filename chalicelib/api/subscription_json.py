"""The subscription JSON (DESIGN 5.2), built as plain dicts: the list and the detail, the routes a cold start most often
serves, answer without importing pydantic. Its shape is `SubscriptionAdminOut` / `SubscriptionUserOut` in
`schemas.py` (the OpenAPI document's); tests/test_openapi.py checks that every answer built here validates against
them and dumps back to the same JSON, key order included."""

from __future__ import annotations

from chalicelib.domain.capabilities import CAPABILITIES
from chalicelib.domain.models import Role, Subscription, utc_iso


def subscription_out(
    subscription: Subscription, role: Role, capabilities: dict[str, bool], current_agreement: str | None = None
) -> dict[str, object]:
    """`current_agreement`: for a pending subscription, the version the admin must accept now (it may be newer than
    the one current when the order arrived)."""
    s = subscription
    out: dict[str, object] = {
        "id": s.id,
        "status": s.status.value,
        "role": role.value,
        "product": {"code": s.product.code, "name": s.product.name},
        "country": s.country,
        "customer": {"id": s.customer.id, "name": s.customer.name},
        "admin": {"email": s.admin.email, "name": s.admin.name},
        "next_renewal_date": s.next_renewal_date.isoformat() if s.next_renewal_date else None,
        "capabilities": {name: capabilities[name] for name in CAPABILITIES},  # CapabilitiesOut's order
    }
    if role is Role.USER:
        return out
    pm = s.payment_method
    payment = {
        "type": pm.type, "brand": pm.brand, "last4": pm.last4, "exp_month": pm.exp_month, "exp_year": pm.exp_year
    }  # fmt: skip
    out.update(
        order_id=s.order_id,
        license_quantity=s.license_quantity,
        seats_used=s.seats_used,
        po_number=s.po_number,
        payment_method={k: v for k, v in payment.items() if v is not None},
        ordered_at=utc_iso(s.ordered_at),
        activation_deadline=utc_iso(s.activation_deadline),
        activated_at=utc_iso(s.activated_at) if s.activated_at else None,
        cancel_at_renewal=s.cancel_at_renewal,
        ended_on=s.ended_on.isoformat() if s.ended_on else None,
        agreement={
            "version": s.evidence.agreement_version if s.evidence else (current_agreement or s.agreement_version),
            "accepted_at": utc_iso(s.evidence.accepted_at) if s.evidence else None,
            "accepted_by": s.evidence.accepted_by if s.evidence else None,
        },
        version=s.version,
    )
    return out

