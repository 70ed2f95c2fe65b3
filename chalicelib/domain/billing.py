"""Billing domain (DESIGN section 14): sellers, invoice amounts, renewal dates, invoice numbers and the invoice record.

Pure: no I/O, no AWS, no PDF or XML library. The PDF/Factur-X rendering lives in `chalicelib.adapters.invoice_pdf`;
where the sellers file comes from is decided in `chalicelib.adapters.sellers`.

Money rules (DESIGN 14.2) and the choices made where the design is silent:
- Every amount is a `Decimal`, rounded ROUND_HALF_UP to the currency's minor unit, and written as a decimal string with
  exactly 2 decimals (the design's "Money is a decimal string with 2 decimals").
- Zero-decimal currencies (ISO 4217 exponent 0: JPY, KRW, CLP, ...) round to whole units first and are still written
  with 2 decimals ("1235.00"), so the JSON shape never depends on the currency.
- Three-decimal currencies (BHD, KWD, OMR, ...) round to 2 decimals: the 2-decimal string is the amount of record,
  never rounded a second time.
- `net_amount` = quantity x unit price (rounded once); `tax_amount` = net x rate / 100 (rounded once);
  `total_amount` = net + tax.
- A unit price keeps its own precision (orders accept up to 4 decimals) with at least 2 decimals ("0.1234", "450.00").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chalicelib.domain.models import PaymentMethod, add_months
from chalicelib.domain.models import PostalAddress as PostalAddress  # lives with the customer; invoices show it

# EU member states (ISO 3166-1 alpha-2; Greece is GR here, "EL" only in VAT numbers). GB left in 2020; CH, NO, IS, LI
# are not members: invoices to them are never reverse-charged under the EU rule.
EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

# ISO 4217 currencies whose minor unit is 0 decimals.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF"}
    | {"XPF"}
)

LANGUAGES = ("en", "fr", "de")
DEFAULT_LANGUAGE = "en"
TWO_PLACES = Decimal("0.01")
MAX_INVOICE_SEQUENCE = 999_999

InvoiceKind = Literal["initial", "renewal"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Seller(_Frozen):
    """A country's selling company, as configured (DESIGN 14.1)."""

    country: str
    name: str
    address: PostalAddress
    vat_id: str
    registration: str
    vat_rate: Decimal
    payment_terms_days: int = Field(ge=0, le=365)
    iban: str
    bic: str
    bank_name: str | None = None
    legal_mentions: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    email: str | None = None
    phone: str | None = None

    @field_validator("vat_rate")
    @classmethod
    def _rate(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or not Decimal(0) <= value < Decimal(100):
            raise ValueError("vat_rate must be a percentage from 0 to below 100, e.g. \"20.00\"")
        if value != value.quantize(TWO_PLACES):
            raise ValueError("vat_rate has at most 2 decimals, e.g. \"8.10\"")
        return value.quantize(TWO_PLACES)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        compact = value.replace(" ", "").upper()
        if not iban_is_valid(compact):
            raise ValueError(f"{value!r} is not a valid IBAN (checksum)")
        return compact

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", value):
            raise ValueError(f"{value!r} is not a BIC (8 or 11 letters/digits)")
        return value

    def mentions(self, language: str) -> tuple[str, ...]:
        """The legal mentions in the invoice's language, else English, else the first language configured."""
        for candidate in (language, DEFAULT_LANGUAGE):
            if candidate in self.legal_mentions:
                return self.legal_mentions[candidate]
        return next(iter(self.legal_mentions.values()), ())


class Buyer(_Frozen):
    id: str
    name: str
    vat_id: str | None = None
    address: PostalAddress | None = None
    country: str  # the subscription's country


class InvoiceLine(_Frozen):
    product_code: str
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


class Period(_Frozen):
    start: date
    end: date  # inclusive: the day before the next renewal date


class InvoicePaymentMethod(_Frozen):
    """The payment method as printed on an invoice: never the card token or expiry."""

    type: Literal["invoice", "card"]
    brand: str | None = None
    last4: str | None = None

    @classmethod
    def of(cls, method: PaymentMethod | InvoicePaymentMethod) -> InvoicePaymentMethod:
        if method.type == "card":
            return cls(type="card", brand=method.brand, last4=method.last4)
        return cls(type="invoice")


class Invoice(_Frozen):
    """An issued invoice (DESIGN 14.3) plus what rendering needs: the full seller snapshot, language, reverse charge."""

    id: str
    number: str
    subscription_id: str
    order_id: str
    kind: InvoiceKind
    issue_date: date
    issued_at: datetime
    due_date: date
    period: Period
    seller: Seller
    buyer: Buyer
    po_number: str | None = None
    lines: tuple[InvoiceLine, ...]
    currency: str
    net_amount: Decimal
    tax_rate: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    payment_method: InvoicePaymentMethod
    language: str = DEFAULT_LANGUAGE
    reverse_charge: bool = False

    @field_validator("issued_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("issued_at must carry a time zone")
        return value.astimezone(UTC)


# ---------------------------------------------------------------------------------------------------------- amounts


@dataclass(frozen=True)
class Amounts:
    net: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


def minor_unit(currency: str) -> Decimal:
    return Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else TWO_PLACES


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit, then carried with 2 decimals (str() gives the JSON string)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP).quantize(TWO_PLACES)


def money_str(amount: Decimal) -> str:
    return str(amount.quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def price_str(unit_price: Decimal) -> str:
    """A unit price with at least 2 decimals, keeping the order's extra precision ("0.1234")."""
    exponent = unit_price.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return str(unit_price.quantize(Decimal(1).scaleb(-places)))


def compute_amounts(
    quantity: int, unit_price: Decimal, vat_rate: Decimal, currency: str, reverse_charge: bool
) -> Amounts:
    if quantity < 0 or not unit_price.is_finite() or unit_price < 0:
        raise ValueError("quantity and unit price must not be negative")
    net = round_money(Decimal(quantity) * unit_price, currency)
    rate = Decimal("0.00") if reverse_charge else vat_rate.quantize(TWO_PLACES)
    tax = round_money(net * rate / Decimal(100), currency)
    return Amounts(net=net, tax_rate=rate, tax=tax, total=(net + tax).quantize(TWO_PLACES))


def is_reverse_charge(seller_country: str, buyer_address_country: str | None, buyer_vat_id: str | None) -> bool:
    """Intra-EU B2B (DESIGN 14.1): both in the EU, different countries, and the buyer's VAT id is known."""
    return (
        buyer_address_country is not None
        and bool(buyer_vat_id and buyer_vat_id.strip())
        and seller_country in EU_MEMBER_STATES
        and buyer_address_country in EU_MEMBER_STATES
        and seller_country != buyer_address_country
    )


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check (country code, 2 check digits, up to 30 letters/digits)."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


# ------------------------------------------------------------------------------------------------ dates and numbers


def renewal_date(anchor: date, k: int, term_months: int) -> date:
    """The k-th renewal date: always from the anchor (the activation date), clamped to the month's end, so 31 Jan
    monthly gives 28/29 Feb then 31 Mar, never a drifting 28th."""
    if k < 0 or term_months < 1:
        raise ValueError("k must be >= 0 and term_months >= 1")
    return add_months(anchor, k * term_months)


def term_period(anchor: date, k: int, term_months: int) -> tuple[date, date]:
    """Term k (0 = the first, starting on the anchor): (start, end inclusive)."""
    return renewal_date(anchor, k, term_months), renewal_date(anchor, k + 1, term_months) - timedelta(days=1)


def series_key(country: str, year: int) -> str:
    """One numbering series per seller (country) and calendar year of the issue date."""
    if not re.fullmatch(r"[A-Z]{2}", country) or not 1000 <= year <= 9999:
        raise ValueError(f"bad invoice series {country!r}/{year!r}")
    return f"{country}-{year}"


def invoice_number(country: str, year: int, n: int) -> str:
    if not 1 <= n <= MAX_INVOICE_SEQUENCE:
        raise ValueError(f"invoice sequence {n} is outside 1..{MAX_INVOICE_SEQUENCE}")
    return f"{series_key(country, year)}-{n:06d}"


def invoice_language(language: str) -> str:
    lang = language.split("-")[0].lower() if language else DEFAULT_LANGUAGE
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _months_label(months: int, language: str) -> str:
    singular = {"en": "month", "fr": "mois", "de": "Monat"}
    plural = {"en": "months", "fr": "mois", "de": "Monate"}
    return f"{months} {(singular if months == 1 else plural)[language]}"


def line_description(product_name: str, term_months: int, language: str) -> str:
    return f"{product_name}, {_months_label(term_months, invoice_language(language))}"


def build_invoice(
    *,
    invoice_id: str,
    number: str,
    subscription_id: str,
    order_id: str,
    kind: InvoiceKind,
    seller: Seller,
    buyer: Buyer,
    product_code: str,
    product_name: str,
    quantity: int,
    unit_price: Decimal,
    currency: str,
    term_months: int,
    period_start: date,
    period_end: date,
    issued_at: datetime,
    po_number: str | None,
    payment_method: PaymentMethod | InvoicePaymentMethod,
    language: str,
) -> Invoice:
    """The invoice of one term. `issued_at` is kept to the second (as the JSON shows it); the issue date is its UTC
    date; the due date adds the seller's payment terms."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must carry a time zone")
    if period_end < period_start:
        raise ValueError("the period ends before it starts")
    moment = issued_at.astimezone(UTC).replace(microsecond=0)
    issue_date = moment.date()
    reverse = is_reverse_charge(seller.country, buyer.address.country if buyer.address else None, buyer.vat_id)
    amounts = compute_amounts(quantity, unit_price, seller.vat_rate, currency, reverse)
    lang = invoice_language(language)
    line = InvoiceLine(
        product_code=product_code,
        description=line_description(product_name, term_months, lang),
        quantity=quantity,
        unit_price=unit_price,
        amount=amounts.net,
    )
    return Invoice(
        id=invoice_id,
        number=number,
        subscription_id=subscription_id,
        order_id=order_id,
        kind=kind,
        issue_date=issue_date,
        issued_at=moment,
        due_date=issue_date + timedelta(days=seller.payment_terms_days),
        period=Period(start=period_start, end=period_end),
        seller=seller,
        buyer=buyer,
        po_number=po_number or None,
        lines=(line,),
        currency=currency,
        net_amount=amounts.net,
        tax_rate=amounts.tax_rate,
        tax_amount=amounts.tax,
        total_amount=amounts.total,
        payment_method=InvoicePaymentMethod.of(payment_method),
        language=lang,
        reverse_charge=reverse,
    )


# ------------------------------------------------------------------------------------------------------------- JSON


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        "issued_at": iso_z(invoice.issued_at),
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
    """Everything needed to re-render the invoice, JSON-safe (strings, ints, bools, lists, dicts: no floats)."""
    return invoice.model_dump(mode="json")


def invoice_from_record(record: Mapping[str, Any]) -> Invoice:
    return Invoice.model_validate(dict(record))


# ----------------------------------------------------------------------------------------------------- presentation


def format_money(amount: Decimal, currency: str, language: str, *, keep_precision: bool = False) -> str:
    """As printed on the PDF and in emails: en 2,700.00 EUR / fr 2 700,00 EUR / de 2.700,00 EUR (plain spaces, so the
    printed text can be searched and copied as it reads). `keep_precision` keeps a unit price's extra decimals."""
    return f"{format_amount(amount, language, keep_precision=keep_precision)} {currency}"


def format_amount(amount: Decimal, language: str, *, keep_precision: bool = False) -> str:
    """The number alone, in the reader's convention: en 2,700.00 / fr 2 700,00 / de 2.700,00."""
    whole, _, cents = (price_str(amount) if keep_precision else money_str(amount)).lstrip("-").partition(".")
    groups = f"{int(whole):,}"
    separators = {"en": (",", "."), "fr": (" ", ","), "de": (".", ",")}
    thousands, decimal_mark = separators[invoice_language(language)]
    sign = "-" if amount < 0 else ""
    return f"{sign}{groups.replace(',', thousands)}{decimal_mark}{cents}"


def format_rate(rate: Decimal, language: str) -> str:
    text = money_str(rate)
    return (text if invoice_language(language) == "en" else text.replace(".", ",")) + " %"


def format_date(day: date, language: str) -> str:
    lang = invoice_language(language)
    if lang == "fr":
        return day.strftime("%d/%m/%Y")
    if lang == "de":
        return day.strftime("%d.%m.%Y")
    return day.isoformat()


# ---------------------------------------------------------------------------------------------------------- sellers


class SellerCatalog:
    """The configured sellers by country (DESIGN 14.1). A country without a seller answers None: intake rejects it."""

    def __init__(self, sellers: Mapping[str, Seller]) -> None:
        self._sellers = dict(sellers)

    def get(self, country: str) -> Seller | None:
        return self._sellers.get(country)

    def countries(self) -> frozenset[str]:
        return frozenset(self._sellers)


def load_sellers(json_text: str) -> dict[str, Seller]:
    """Parse a sellers file: `{"sellers": [{"country": "FR", ...}, ...]}` (other top-level keys are notes).
    Raises ValueError naming the seller and the field when the configuration is wrong."""
    try:
        document = json.loads(json_text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"sellers configuration is not JSON: {exc}") from None
    entries = document.get("sellers") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError('sellers configuration needs a non-empty "sellers" list')
    sellers: dict[str, Seller] = {}
    for position, entry in enumerate(entries):
        label = entry.get("country", f"#{position}") if isinstance(entry, dict) else f"#{position}"
        try:
            seller = Seller.model_validate(_as_seller_input(entry))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"seller {label}: {problems}") from None
        if seller.country != seller.address.country:
            raise ValueError(f"seller {label}: country differs from its address country {seller.address.country}")
        if seller.country in sellers:
            raise ValueError(f"seller {label} is configured twice")
        sellers[seller.country] = seller
    return sellers


def _as_seller_input(entry: Any) -> Any:
    """vat_rate must be a decimal string in the file ("20.00"), never a float that may not be exact."""
    if isinstance(entry, dict) and "vat_rate" in entry:
        rate = entry["vat_rate"]
        if not isinstance(rate, str):
            raise ValueError(f"seller {entry.get('country')}: vat_rate must be a decimal string such as \"20.00\"")
        try:
            Decimal(rate)
        except InvalidOperation:
            raise ValueError(f"seller {entry.get('country')}: vat_rate {rate!r} is not a number") from None
    return entry

