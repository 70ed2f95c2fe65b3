"""The "order placed" message (DESIGN section 4) and its strict validation."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from chalicelib import strictjson
from chalicelib.domain.errors import OrderRejected
from chalicelib.domain.models import Customer, PaymentMethod, Person, PostalAddress, Product, parse_utc
from chalicelib.domain.reference import COUNTRIES, CURRENCIES
from chalicelib.domain.validators import (
    clean_document_text,
    postal_address_problems,
    validate_electronic_address,
    validate_email,
    validate_po_number,
    validate_siren,
    validate_vat_id,
)

_BCP47 = re.compile(
    r"^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
)
_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# The published pattern of unit_price; checked with fullmatch (a "$" alone would also match before a final newline).
DECIMAL = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,4})?$")


class _PersonIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)
    email: str
    name: str

    _email = field_validator("email")(lambda cls, v: validate_email(v))
    _name = field_validator("name")(lambda cls, v: clean_document_text(v, "name"))  # the agreement PDF prints it


class _NamedIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)
    name: str
    _name = field_validator("name")(lambda cls, v: clean_document_text(v, "name"))


class FieldReasons(ValueError):
    """Every problem of one compound field (the customer), each reason naming its sub-field."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def parse_customer(value: Any) -> Customer:
    """The order's `customer` (DESIGN 4, 15.3): id and name, the postal address (required: an invoice without it is
    not valid in France, Germany or Belgium), and the optional VAT id, SIREN and electronic address. Raises
    FieldReasons listing every problem. What the buyer's country and the seller require on top is
    `chalicelib.domain.billing.buyer_requirements`."""
    if not isinstance(value, dict):
        raise ValueError("must be an object")
    reasons: list[str] = []

    def field(name: str, check: Any, required: bool = False) -> Any:
        if value.get(name) is None:
            if required:
                reasons.append(f"{name} is required")
            return None
        try:
            return check(value[name])
        except FieldReasons as error:
            reasons.extend(f"{name}.{reason}" for reason in error.reasons)
        except ValueError as error:
            reasons.append(f"{name}: {error}")
        return None

    customer_id = field("id", lambda v: clean_document_text(_string(v), "customer id"), required=True)
    name = field("name", lambda v: clean_document_text(_string(v), "name"), required=True)
    vat_id = field("vat_id", lambda v: validate_vat_id(_string(v)))
    address = field("address", _address, required=True)
    siren = field("siren", validate_siren)
    electronic_address = field("electronic_address", validate_electronic_address)
    if reasons:
        raise FieldReasons(reasons)
    return Customer(
        id=customer_id, name=name, vat_id=vat_id, address=address, siren=siren, electronic_address=electronic_address
    )


def _address(value: Any) -> PostalAddress:
    if not isinstance(value, dict):
        raise ValueError('must be an object {"lines": [...], "postal_code", "city", "country"}')
    address, reasons = postal_address_problems(value)
    if address is None:
        raise FieldReasons(reasons)
    return address


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


class _ProductIn(_NamedIn):
    code: str
    _code = field_validator("code")(lambda cls, v: clean_document_text(v, "product code"))


class _PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    type: str

    @field_validator("type")
    @classmethod
    def _only_invoice_or_card_token(cls, value: str) -> str:
        if value not in ("invoice", "card"):
            raise ValueError("payment method type must be 'invoice' or 'card'")
        return value


class OrderPlaced(BaseModel):
    """A validated order. Construct with `parse_order`, which turns every problem into readable reasons."""

    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)

    order_id: str
    ordered_at: datetime
    country: str
    locale: str
    customer: Customer
    admin: Person
    product: Product
    license_quantity: int
    term_months: int
    unit_price: Decimal
    currency: str
    po_number: str | None
    payment_method: PaymentMethod


def _reason(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "message"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{where} is required"
    return f"{where}: {message}"


def parse_order(raw: str | bytes | dict[str, Any]) -> OrderPlaced:
    """Validate an order message strictly; raise OrderRejected listing every reason."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = strictjson.loads(raw)
        except strictjson.StrictJsonError as exc:
            raise OrderRejected([f"message is not valid JSON ({exc})"]) from None
    if not isinstance(raw, dict):
        raise OrderRejected(["message must be a JSON object"])
    return _OrderValidator.validate(raw)


class _OrderValidator:
    @staticmethod
    def validate(raw: dict[str, Any]) -> OrderPlaced:
        reasons: list[str] = []

        def check(name: str, fn: Any) -> Any:
            if name not in raw or raw[name] is None:
                if name in ("po_number",):
                    return None
                if name == "locale":
                    return "en"
                reasons.append(f"{name} is required")
                return None
            try:
                return fn(raw[name])
            except ValidationError as exc:
                reasons.extend(f"{name}.{_reason(e)}" for e in exc.errors())
            except FieldReasons as exc:
                reasons.extend(f"{name}.{reason}" for reason in exc.reasons)
            except (ValueError, TypeError, InvalidOperation) as exc:
                reasons.append(f"{name}: {exc}")
            return None

        order_id = check("order_id", _order_id)
        ordered_at = check("ordered_at", _timestamp)
        country = check("country", _country)
        locale = check("locale", _locale)
        customer = check("customer", parse_customer)
        admin = check("admin", lambda v: _PersonIn.model_validate(v))
        product = check("product", lambda v: _ProductIn.model_validate(v))
        quantity = check("license_quantity", lambda v: _bounded_int(v, 1, 10000, "license_quantity"))
        term = check("term_months", lambda v: _bounded_int(v, 1, 60, "term_months"))
        price = check("unit_price", _price)
        currency = check("currency", _currency)
        po_number = check("po_number", _po)
        payment = check("payment_method", lambda v: _PaymentIn.model_validate(v))
        if reasons:
            raise OrderRejected(reasons)
        return OrderPlaced(
            order_id=order_id,
            ordered_at=ordered_at,
            country=country,
            locale=locale,
            customer=customer,
            admin=Person(email=admin.email, name=admin.name),
            product=Product(code=product.code, name=product.name),
            license_quantity=quantity,
            term_months=term,
            unit_price=price,
            currency=currency,
            po_number=po_number,
            payment_method=PaymentMethod(type=payment.type),
        )


def _order_id(value: Any) -> str:
    if not isinstance(value, str) or not _ORDER_ID.fullmatch(value):
        raise ValueError("must be 1 to 64 letters, digits, '.', '_' or '-'")
    return value


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp string such as 2026-11-26T09:30:00Z")
    try:
        return parse_utc(value)
    except ValueError as error:
        raise ValueError(f"'{value[:40]}': {error}") from None


def _country(value: Any) -> str:
    if not isinstance(value, str) or value not in COUNTRIES:
        raise ValueError(f"'{str(value)[:10]}' is not an ISO 3166-1 alpha-2 country code (e.g. FR)")
    return value


def _locale(value: Any) -> str:
    if not isinstance(value, str) or not _BCP47.fullmatch(value):
        raise ValueError(f"'{str(value)[:35]}' is not a BCP 47 language tag (e.g. fr-FR)")
    return value


def _bounded_int(value: Any, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number between {low} and {high}")
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range; allowed {low} to {high}")
    return value


def _price(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "450.00"')
    if not DECIMAL.fullmatch(value):
        raise ValueError(
            f"'{value[:20]}' is not a decimal string of 1 to 15 digits (0-9) with at most 4 decimals"
            ' such as "450.00"'
        )
    return Decimal(value)


def _currency(value: Any) -> str:
    if not isinstance(value, str) or value not in CURRENCIES:
        raise ValueError(f"'{str(value)[:10]}' is not an ISO 4217 currency code (e.g. EUR)")
    return value


def _po(value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return validate_po_number(value)
