"""API schemas (DESIGN 5.2): separate from the domain models, so the wire format is a deliberate choice."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, field_validator

from chalicelib.domain.models import Person, Role, Subscription, utc_iso
from chalicelib.domain.validators import clean_text, validate_email, validate_po_number


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class ProductOut(_Out):
    code: str
    name: str


class CustomerOut(_Out):
    id: str
    name: str


class PersonOut(_Out):
    email: str
    name: str


class PaymentMethodOut(_Out):
    type: str
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


class AgreementStateOut(_Out):
    version: str
    accepted_at: str | None
    accepted_by: str | None


class SubscriptionUserOut(_Out):
    id: str
    status: str
    role: Literal["admin", "user"]
    product: ProductOut
    country: str
    customer: CustomerOut
    admin: PersonOut
    next_renewal_date: str | None


class SubscriptionAdminOut(SubscriptionUserOut):
    order_id: str
    license_quantity: int
    seats_used: int
    po_number: str | None
    payment_method: PaymentMethodOut
    ordered_at: str
    activation_deadline: str
    activated_at: str | None
    cancel_at_renewal: bool
    ended_on: str | None
    agreement: AgreementStateOut
    version: int


def subscription_out(subscription: Subscription, role: Role, current_agreement: str | None = None) -> dict[str, object]:
    """`current_agreement`: for a pending subscription, the version the admin must accept now (it may be newer than
    the one current when the order arrived)."""
    s = subscription
    base = {
        "id": s.id,
        "status": s.status.value,
        "role": role.value,
        "product": ProductOut(code=s.product.code, name=s.product.name),
        "country": s.country,
        "customer": CustomerOut(id=s.customer.id, name=s.customer.name),
        "admin": PersonOut(email=s.admin.email, name=s.admin.name),
        "next_renewal_date": s.next_renewal_date.isoformat() if s.next_renewal_date else None,
    }
    if role is Role.USER:
        return SubscriptionUserOut(**base).model_dump(mode="json")  # type: ignore[arg-type]
    pm = s.payment_method
    out: dict[str, object] = SubscriptionAdminOut(
        **base,  # type: ignore[arg-type]
        order_id=s.order_id,
        license_quantity=s.license_quantity,
        seats_used=s.seats_used,
        po_number=s.po_number,
        payment_method=PaymentMethodOut(
            type=pm.type, brand=pm.brand, last4=pm.last4, exp_month=pm.exp_month, exp_year=pm.exp_year
        ),
        ordered_at=utc_iso(s.ordered_at),
        activation_deadline=utc_iso(s.activation_deadline),
        activated_at=utc_iso(s.activated_at) if s.activated_at else None,
        cancel_at_renewal=s.cancel_at_renewal,
        ended_on=s.ended_on.isoformat() if s.ended_on else None,
        agreement=AgreementStateOut(
            version=s.evidence.agreement_version if s.evidence else (current_agreement or s.agreement_version),
            accepted_at=utc_iso(s.evidence.accepted_at) if s.evidence else None,
            accepted_by=s.evidence.accepted_by if s.evidence else None,
        ),
        version=s.version,
    ).model_dump(mode="json")
    payment: dict[str, object] = out["payment_method"]  # type: ignore[assignment]
    out["payment_method"] = {k: v for k, v in payment.items() if v is not None}
    return out


class ActivationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    accept_agreement: StrictBool
    agreement_version: StrictStr


class PersonIn(BaseModel):
    """A seat holder or a new administrator."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    email: str
    name: str

    _email = field_validator("email")(lambda cls, v: validate_email(v))
    _name = field_validator("name")(lambda cls, v: clean_text(v, "name"))

    def person(self) -> Person:
        return Person(email=self.email, name=self.name)


class PoNumberIn(BaseModel):
    """PATCH /subscriptions/{id}: only the PO number can change; null (or blank) removes it."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    po_number: str | None

    @field_validator("po_number")
    @classmethod
    def _po(cls, value: str | None) -> str | None:
        return validate_po_number(value.strip() if value else None) or None
