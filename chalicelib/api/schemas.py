"""API schemas (DESIGN 5.2): separate from the domain models, so the wire format is a deliberate choice."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from chalicelib.api.correction_schemas import InvoiceCorrectionIn as InvoiceCorrectionIn  # named by its route
from chalicelib.api.history_schemas import Day, Omitted, Timestamp
from chalicelib.api.history_schemas import HistoryOut as HistoryOut  # named by the history route (`schema_model`)
from chalicelib.domain.models import PaymentType, Person, SubscriptionStatus
from chalicelib.domain.payment import BRANDS, MAX_TOKEN_LENGTH, TOKEN_PATTERN
from chalicelib.domain.validators import (
    EMAIL_PATTERN,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PO_LENGTH,
    clean_text,
    validate_email,
    validate_po_number,
)

MAX_AGREEMENT_VERSION_LENGTH = 64  # versions are like "FR-fr-2026.1"


def _checked_by_the_server(**rules: Any) -> Any:
    """Rules the field's own validator enforces (after trimming the value, with a message a person can act on),
    shown in the document from the same constants. On a nullable field they go on its string branch."""

    def show(schema: dict[str, Any]) -> None:
        target = next((branch for branch in schema.get("anyOf", []) if branch.get("type") == "string"), schema)
        target.update(rules)

    return Field(json_schema_extra=show)


# What the server writes into these answer fields, shown so a generated client can check them too.
SubscriptionId = Annotated[str, Field(json_schema_extra={"format": "uuid"})]
CountryCode = Annotated[str, Field(json_schema_extra={"pattern": "^[A-Z]{2}$"})]
CurrencyCode = Annotated[str, Field(json_schema_extra={"pattern": "^[A-Z]{3}$"})]
EmailAddress = Annotated[str, Field(json_schema_extra={"format": "email"})]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class ProductOut(_Out):
    code: str
    name: str


class CustomerOut(_Out):
    id: str
    name: str


class PersonOut(_Out):
    email: EmailAddress
    name: str


class PaymentMethodOut(_Out):
    """The keys of a card (brand, last4, expiry) are left out, never null, when the method has none."""

    type: PaymentType
    brand: str | None = Omitted()
    last4: str | None = Omitted()
    exp_month: int | None = Omitted()
    exp_year: int | None = Omitted()


class AgreementStateOut(_Out):
    version: str
    accepted_at: Timestamp | None
    accepted_by: str | None


class CapabilitiesOut(_Out):
    """What the caller may do on this subscription now (DESIGN 5.2); the routes enforce the same answers."""

    activate: bool
    manage_users: bool
    transfer_admin: bool
    edit_po_number: bool
    change_payment_method: bool
    cancel: bool
    view_invoices: bool


class _SubscriptionBase(_Out):
    """The fields both views carry, in the order the server writes them. Neither view extends the other: a client
    tells them apart by `role` alone (each view's `role` is a constant), never by which keys happen to be there."""

    id: SubscriptionId
    status: SubscriptionStatus
    role: str
    product: ProductOut
    country: CountryCode
    customer: CustomerOut
    admin: PersonOut
    next_renewal_date: Day | None
    capabilities: CapabilitiesOut


class SubscriptionUserOut(_SubscriptionBase):
    """The view of a seat holder (`role` "user")."""

    role: Literal["user"]


class SubscriptionAdminOut(_SubscriptionBase):
    """The administrator's view (`role` "admin"): the seat holder's plus the order, seats, payment and agreement."""

    role: Literal["admin"]
    order_id: str
    license_quantity: int
    seats_used: int
    po_number: str | None
    payment_method: PaymentMethodOut
    ordered_at: Timestamp
    activation_deadline: Timestamp
    activated_at: Timestamp | None
    cancel_at_renewal: bool
    ended_on: Day | None
    agreement: AgreementStateOut
    version: int


# One of the two views, told apart by `role` (the document's `oneOf` with a `role` discriminator).
SubscriptionOut = Annotated[SubscriptionAdminOut | SubscriptionUserOut, Field(discriminator="role")]


class ActivationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    accept_agreement: StrictBool
    agreement_version: StrictStr = Field(max_length=MAX_AGREEMENT_VERSION_LENGTH)


class PersonIn(BaseModel):
    """A seat holder or a new administrator."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    email: str = _checked_by_the_server(
        format="email", pattern=EMAIL_PATTERN, maxLength=MAX_EMAIL_LENGTH, minLength=1
    )
    name: str = _checked_by_the_server(minLength=1, maxLength=MAX_NAME_LENGTH)

    _email = field_validator("email")(lambda cls, v: validate_email(v))
    _name = field_validator("name")(lambda cls, v: clean_text(v, "name"))

    def person(self) -> Person:
        return Person(email=self.email, name=self.name)


class PoNumberIn(BaseModel):
    """PATCH /subscriptions/{id}: only the PO number can change; null (or blank) removes it."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    po_number: str | None = _checked_by_the_server(maxLength=MAX_PO_LENGTH)

    @field_validator("po_number")
    @classmethod
    def _po(cls, value: str | None) -> str | None:
        return validate_po_number(value.strip() if value else None) or None


class InvoicePaymentIn(BaseModel):
    """PUT /subscriptions/{id}/payment-method: pay by invoice. Documents the body `parse_payment_method` reads (the
    route screens the raw bytes for card numbers before anything parses them)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: Literal["invoice"]


class CardPaymentIn(BaseModel):
    """A card the payment provider tokenized: never a card number or a CVV."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: Literal["card"]
    token: str = _checked_by_the_server(
        pattern=TOKEN_PATTERN, minLength=4, maxLength=MAX_TOKEN_LENGTH, description="the payment provider's token"
    )
    brand: str = _checked_by_the_server(enum=sorted(BRANDS))
    last4: str = _checked_by_the_server(pattern=r"^[0-9]{4}$", minLength=4, maxLength=4)
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)


# -- response bodies (the document's schemas; the views build their answers through them) ---------------------------
class HintsOut(_Out):
    other_countries: list[str]


class SubscriptionListOut(_Out):
    items: list[SubscriptionOut]
    next_cursor: str | None
    hints: HintsOut


class ActivationEmailOut(_Out):
    message: str
    activation_deadline: Timestamp


class SeatOut(_Out):
    email: EmailAddress
    name: str
    assigned_at: Timestamp


class SeatCountOut(_Out):
    quantity: int
    used: int


class SeatListOut(_Out):
    items: list[SeatOut]
    seats: SeatCountOut
    next_cursor: str | None


class CandidateOut(_Out):
    email: EmailAddress
    name: str
    sources: list[Literal["seat_holder", "customer_contact"]]


class CandidateListOut(_Out):
    items: list[CandidateOut]
    next_cursor: str | None


class AdminTransferOut(_Out):
    id: SubscriptionId
    admin: PersonOut
    message: str


class AgreementOut(_Out):
    version: str
    title: str
    text: str
    accepted_at: Timestamp | None
    accepted_by: str | None


class EntitlementOut(_Out):
    subscription_id: SubscriptionId
    product: ProductOut
    customer: CustomerOut
    valid_until: Day | None


class EntitlementListOut(_Out):
    items: list[EntitlementOut]
    next_cursor: str | None


class AddressOut(_Out):
    lines: list[str]
    postal_code: str
    city: str
    country: CountryCode


class InvoicePeriodOut(_Out):
    start: Day = Field(description="first day of the term (YYYY-MM-DD)")
    end: Day = Field(description="last day of the term, inclusive (YYYY-MM-DD)")


class InvoiceSellerOut(_Out):
    name: str
    address: AddressOut | None
    vat_id: str | None
    registration: str | None


class InvoiceBuyerOut(_Out):
    id: str
    name: str
    vat_id: str | None
    address: AddressOut | None
    country: CountryCode


class InvoiceLineOut(_Out):
    product_code: str
    description: str
    quantity: int
    unit_price: str
    amount: str
    period: InvoicePeriodOut
    tax_category: str = Field(description="UNTDID 5305 as EN 16931 uses it: S standard, AE reverse charge, O outside "
                              "the scope of VAT, ...")
    tax_rate: str


class TaxBreakdownOut(_Out):
    """One entry per VAT category and rate (EN 16931 BG-23), the tax rounded once per entry."""

    category: str
    rate: str
    taxable_amount: str
    tax_amount: str
    exemption_reason: str | None


class DocumentLinkOut(_Out):
    id: str
    number: str


class CorrectsOut(_Out):
    """The invoice a credit note cancels (EN 16931 BG-3)."""

    id: str
    number: str
    issue_date: Day


class CorrectedByOut(_Out):
    credit_note: DocumentLinkOut
    replacement: DocumentLinkOut


class InvoicePaymentMethodOut(_Out):
    type: PaymentType
    brand: str | None = Omitted()
    last4: str | None = Omitted()


class InvoiceTaxCurrencyOut(_Out):
    code: str = Field(description="the seller's accounting currency (EN 16931 BT-6)")
    rate: str = Field(description="units of `code` for one unit of the invoice's currency, in force on the issue date")
    tax_amount: str = Field(description="the VAT total in `code` (BT-111)")


class InvoiceOut(_Out):
    """An issued document (DESIGN 14.3, 15.1), an invoice or a credit note: immutable, but for `corrected_by`;
    money as decimal strings, dates YYYY-MM-DD."""

    id: str
    number: str
    type: Literal["invoice", "credit_note"]
    subscription_id: str
    order_id: str
    kind: Literal["initial", "renewal", "correction"]
    issue_date: Day
    issued_at: Timestamp
    due_date: Day
    period: InvoicePeriodOut
    seller: InvoiceSellerOut
    buyer: InvoiceBuyerOut
    po_number: str | None
    lines: list[InvoiceLineOut]
    currency: CurrencyCode
    net_amount: str
    tax_rate: str
    tax_amount: str
    total_amount: str
    tax_breakdown: list[TaxBreakdownOut]
    payment_method: InvoicePaymentMethodOut
    corrects: CorrectsOut | None = Field(description="a credit note: the invoice it cancels")
    replaces: DocumentLinkOut | None = Field(description="a replacement invoice: the invoice it replaces")
    corrected_by: CorrectedByOut | None = Field(
        description="set once the invoice is corrected: its credit note and its replacement"
    )
    tax_currency: InvoiceTaxCurrencyOut | None = Field(
        description="the VAT in the seller's accounting currency, for an invoice in another currency; else null"
    )


class InvoiceListOut(_Out):
    items: list[InvoiceOut]
    next_cursor: str | None


class InvoiceCorrectionOut(_Out):
    credit_note: InvoiceOut
    replacement: InvoiceOut


class HealthOut(_Out):
    status: Literal["ok"]


class ErrorOut(_Out):
    """Every error answer (DESIGN 5): a code and a message a person can act on."""

    Code: str
    Message: str
    Field: str | None = Omitted(
        description="on a 400 for a body value: where it is, as a JSON pointer (RFC 6901, e.g. `/email`)"
    )
