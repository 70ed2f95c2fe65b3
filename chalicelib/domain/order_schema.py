"""The "order placed" message as a JSON Schema for the order system's team (docs/order-message.schema.json).

Intake validates field by field (chalicelib.domain.orders) so that one message's every problem is reported at once;
this pydantic model mirrors that validation for the schema only and is never used by intake. Its validators call the
intake's own checks, so the model accepts exactly what intake accepts; the field constraints put the same rules into
the published schema (what a schema cannot say, such as "printable characters only", is in the descriptions).

`make docs` (tools/docs.py) writes it to docs/order-message.schema.json.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.domain import orders, validators
from chalicelib.domain.identifiers import EAS_CODES, MAX_ADDRESS_ID_LENGTH
from chalicelib.domain.reference import COUNTRIES, CURRENCIES

_TEXT = (
    "1 to 200 printable characters, each one the documents' font prints (Latin, Greek, Cyrillic, ...: an order with "
    "characters the invoice PDF cannot print, e.g. CJK or right-to-left scripts, is refused naming them); surrounding "
    "blanks are trimmed, no-break spaces become spaces"
)
_EMAIL_PATTERN = validators._EMAIL.pattern
_DECIMAL_PATTERN = orders.DECIMAL.pattern



def _text(value: str, what: str) -> str:
    return validators.clean_document_text(value, what)


def _postal_code_rules() -> list[dict[str, Any]]:
    """Per country: the postal code is required and has the country's format (validators.POSTAL_CODE_FORMATS)."""
    return [
        {
            "if": {"properties": {"country": {"const": country}}, "required": ["country"]},
            "then": {
                "required": ["postal_code"],
                "properties": {"postal_code": {"pattern": f"^(?:{pattern.pattern})$"}},
            },
        }
        for country, pattern in sorted(validators.POSTAL_CODE_FORMATS.items())
    ]


class AddressMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, title="Postal address",
                              json_schema_extra=lambda schema: schema.update(allOf=_postal_code_rules()))
    lines: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(
        min_length=1, max_length=validators.MAX_ADDRESS_LINES,
        description=f"Street lines, 1 to {validators.MAX_ADDRESS_LINES}. Each: {_TEXT}.")]
    postal_code: Annotated[str | None, Field(default=None, min_length=1, max_length=validators.MAX_POSTAL_CODE_LENGTH,
                                             description=(
        "Required, in the country's format (upper case), for an address in "
        f"{', '.join(sorted(validators.POSTAL_CODE_FORMATS))}; optional elsewhere."))]
    city: Annotated[str, Field(min_length=1, max_length=200, description=f"{_TEXT}.")]
    country: Annotated[str, Field(json_schema_extra={"enum": sorted(COUNTRIES)}, description=(
        "ISO 3166-1 alpha-2. With `vat_id`, an address in another EU country than the seller's makes the invoice "
        "reverse-charged (no VAT)."))]

    @model_validator(mode="before")
    @classmethod
    def _as_intake_reads_it(cls, value: Any) -> Any:
        _address, reasons = validators.postal_address_problems(value)
        if reasons:
            raise ValueError("; ".join(reasons))
        return value


class ElectronicAddressMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, title="Electronic address")
    scheme: Annotated[str, Field(json_schema_extra={"enum": sorted(EAS_CODES)}, description=(
        "EAS code (BT-49-1): 0225 the French directory (the SIREN), 0208 the Belgian enterprise number, 9930 a "
        "German VAT id, ..."))]
    id: Annotated[str, Field(min_length=1, max_length=MAX_ADDRESS_ID_LENGTH, pattern=r"^[0-9A-Za-z._@+\-]+$",
                             description="In the scheme's format (0225: the SIREN, optionally _suffix; 0208: 10 digits "
                                         "with a valid mod-97 check).")]

    @model_validator(mode="after")
    def _as_intake_reads_it(self) -> ElectronicAddressMessage:
        validators.validate_electronic_address({"scheme": self.scheme, "id": self.id})
        return self


class CustomerMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, title="Customer")
    id: Annotated[str, Field(min_length=1, max_length=200, description=f"The customer's number. {_TEXT}.")]
    name: Annotated[str, Field(min_length=1, max_length=200, description=f"The company's name. {_TEXT}.")]
    vat_id: Annotated[str | None, Field(default=None, description=(
        "The buyer's VAT identifier with its country prefix (e.g. BE0123456789; spaces, dots and hyphens are "
        "dropped). Optional; shown on invoices. A French one also gives the buyer's SIREN (its last nine digits)."))]
    address: Annotated[AddressMessage, Field(description=(
        "The buyer's postal address, required: an invoice without it is not valid in France, Germany or Belgium."))]
    siren: Annotated[str | None, Field(default=None, pattern=r"^[0-9]{9}$", description=(
        "The buyer's SIREN: 9 digits with a valid check digit. A buyer whose address is in France needs it, or a "
        "French `vat_id`; the order is refused otherwise."))]
    electronic_address: Annotated[ElectronicAddressMessage | None, Field(default=None, description=(
        "Where the buyer receives e-invoices (BT-49). Optional: derived from the SIREN (0225), the Belgian enterprise "
        "number (0208) or the VAT id; an order whose seller must address its e-invoices (a Peppol/UBL seller, or a "
        "French seller selling to a French buyer) is refused when nothing gives one."))]

    _id = field_validator("id")(lambda cls, v: _text(v, "customer id"))
    _name = field_validator("name")(lambda cls, v: _text(v, "name"))
    _vat_id = field_validator("vat_id")(lambda cls, v: v if v is None else validators.validate_vat_id(v))
    _siren = field_validator("siren")(lambda cls, v: v if v is None else validators.validate_siren(v))


class AdminMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, title="Administrator")
    email: Annotated[str, Field(max_length=254, pattern=_EMAIL_PATTERN,
                                description="Gets the activation email: ASCII, at most 64 characters before the @.")]
    name: Annotated[str, Field(min_length=1, max_length=200, description=f"{_TEXT}.")]

    _email = field_validator("email")(lambda cls, v: validators.validate_email(v))
    _name = field_validator("name")(lambda cls, v: _text(v, "name"))


class ProductMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, title="Product")
    code: Annotated[str, Field(min_length=1, max_length=200, description=f"{_TEXT}.")]
    name: Annotated[str, Field(min_length=1, max_length=200, description=f"Shown in emails and pages. {_TEXT}.")]

    _code = field_validator("code")(lambda cls, v: _text(v, "product code"))
    _name = field_validator("name")(lambda cls, v: _text(v, "name"))


class PaymentMethodMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, title="Payment method")
    type: Annotated[Literal["invoice", "card"], Field(
        description="Card details never travel in the order: the customer adds a provider token in the portal.")]


class OrderMessage(BaseModel):
    """One message per order on the orders queue, delivered at least once; `order_id` is the idempotency key."""

    model_config = ConfigDict(extra="allow", strict=True, title="Order placed",
                              json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"})

    order_id: Annotated[str, Field(pattern=orders._ORDER_ID.pattern, description=(
        "Unique per order; a redelivered message with a known order_id changes nothing and sends no second email."))]
    ordered_at: Annotated[str, Field(json_schema_extra={"format": "date-time"}, description=(
        "ISO 8601 with a time zone. The customer has 90 days from here to activate; a message arriving later creates "
        "nothing, one more than an hour in the future is rejected."))]
    country: Annotated[str, Field(json_schema_extra={"enum": sorted(COUNTRIES)}, description=(
        "ISO 3166-1 alpha-2, upper case: the web shop's country. An order for a country without a configured selling "
        "company is rejected (it could not be invoiced)."))]
    locale: Annotated[str, Field(default="en", pattern=orders._BCP47.pattern,
                                 description="BCP 47 language tag of the emails and pages; `en` when absent.")]
    customer: CustomerMessage
    admin: AdminMessage
    product: ProductMessage
    license_quantity: Annotated[int, Field(ge=1, le=10000, description="Seats.")]
    term_months: Annotated[int, Field(ge=1, le=60)]
    unit_price: Annotated[str, Field(pattern=_DECIMAL_PATTERN, max_length=20, examples=["450.00"], description=(
        "Decimal string >= 0 with at most 4 decimals (a JSON number is refused: no binary rounding)."))]
    currency: Annotated[str, Field(json_schema_extra={"enum": sorted(CURRENCIES)}, description=(
        "ISO 4217, one the country's selling company invoices in (an order in another currency is refused, naming "
        "those it does)."))]
    po_number: Annotated[str | None, Field(default=None, max_length=validators.MAX_PO_LENGTH, description=(
        f"Customer's purchase order number: at most {validators.MAX_PO_LENGTH} printable Unicode characters, each one "
        "the invoice PDF's font prints."))]
    payment_method: PaymentMethodMessage

    _order_id = field_validator("order_id")(lambda cls, v: orders._order_id(v))
    _ordered_at = field_validator("ordered_at")(lambda cls, v: orders._timestamp(v) and v)
    _country = field_validator("country")(lambda cls, v: orders._country(v))
    _currency = field_validator("currency")(lambda cls, v: orders._currency(v))
    _locale = field_validator("locale")(lambda cls, v: orders._locale(v))
    _po_number = field_validator("po_number")(lambda cls, v: v if v is None else orders._po(v))

    @field_validator("unit_price")
    @classmethod
    def _price(cls, value: str) -> str:
        orders._price(value)
        return value


def json_schema() -> dict[str, Any]:
    schema = OrderMessage.model_json_schema()
    schema["$id"] = "order-message.schema.json"
    schema["examples"] = [_sample()]
    return schema


def _sample() -> dict[str, Any]:
    return {
        "order_id": "4500012345", "ordered_at": "2026-11-26T09:30:00Z", "country": "FR", "locale": "fr-FR",
        "customer": {"id": "0001234567", "name": "Dupont BTP SARL", "siren": "999000011", "address": {
            "lines": ["12 rue des Artisans"], "postal_code": "69002", "city": "Lyon", "country": "FR"}},
        "admin": {"email": "marie.dupont@example.fr", "name": "Marie Dupont"},
        "product": {"code": "PROFIS-ENG", "name": "PROFIS Engineering Suite"},
        "license_quantity": 5, "term_months": 12, "unit_price": "450.00", "currency": "EUR",
        "po_number": "PO-7781", "payment_method": {"type": "invoice"},
    }


def rendered() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"

