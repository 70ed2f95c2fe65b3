"""The billing document (DESIGN 14.3, 15.1): an invoice or a credit note, with lines, a VAT breakdown and totals that
are checked when it is built, so a document whose figures do not add up can never exist, be stored or be rendered.

`type` is what the document is (invoice 380, credit note 381); `kind` is why it was issued (the first term, a
renewal, the correction of an invoice: its credit note; a replacement keeps the kind of the invoice it replaces).
The header attributes the PDF and the JSON read (`tax_rate`, `reverse_charge`) are derived from the lines, so they
can never disagree with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from chalicelib.domain.billing.formatting import DEFAULT_LANGUAGE
from chalicelib.domain.billing.frozen import Frozen
from chalicelib.domain.billing.money import TWO_PLACES, round_money
from chalicelib.domain.billing.numbering import DocumentType
from chalicelib.domain.billing.sellers import Seller
from chalicelib.domain.billing.tax import (
    Exemption,
    Taxed,
    TaxSubtotal,
    VatCategory,
    check_treatment,
    legacy_reverse_charge_exemption,
    vat_breakdown,
)
from chalicelib.domain.identifiers import ElectronicAddress
from chalicelib.domain.models import PaymentMethod, PostalAddress

InvoiceKind = Literal["initial", "renewal", "correction"]
DOCUMENT_TYPE_CODES: dict[DocumentType, str] = {"invoice": "380", "credit_note": "381"}  # UNTDID 1001


@dataclass(frozen=True)
class TermCause:
    """Why a document is issued: the term starting on `start` is invoiced (DESIGN 14.2: once, whatever the retries).
    The store keys its idempotency guard by the cause, not by the document; `CorrectionCause` is the other cause."""

    start: date


@dataclass(frozen=True)
class CorrectionCause:
    """Why a credit note and its replacement are issued: the document `document_id` is corrected (DESIGN 15.2: once,
    whatever the retries and races). `period_start` and `number` are the corrected document's: the store keys the
    guard beside the term it corrects, in the order successive corrections of that term were made."""

    document_id: str
    period_start: date
    number: str

    @classmethod
    def of(cls, document: Invoice) -> CorrectionCause:
        return cls(document.id, document.period.start, document.number)


Cause = TermCause | CorrectionCause


class Buyer(Frozen):
    id: str
    name: str
    vat_id: str | None = None
    address: PostalAddress | None = None
    country: str  # the subscription's country
    siren: str | None = None  # BT-47 (a French buyer's): given by the order or read from its French VAT id
    electronic_address: ElectronicAddress | None = None  # BT-49: given by the order, else derived (DESIGN 15.3)


class Period(Frozen):
    start: date
    end: date  # inclusive: the day before the next renewal date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")
        return self


class InvoicePaymentMethod(Frozen):
    """The payment method as printed on an invoice: never the card token or expiry."""

    type: Literal["invoice", "card"]
    brand: str | None = None
    last4: str | None = None

    @classmethod
    def of(cls, method: PaymentMethod | InvoicePaymentMethod) -> InvoicePaymentMethod:
        if method.type == "card":
            return cls(type="card", brand=method.brand, last4=method.last4)
        return cls(type="invoice")


class InvoiceLine(Frozen):
    """One line (BG-25): what is sold, for which period, and how it is taxed."""

    product_code: str
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal  # BT-131, the line's net: quantity x unit price, rounded to the currency
    period: Period
    tax_category: VatCategory
    tax_rate: Decimal
    exemption: Exemption | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InvoiceLine:
        if self.quantity < 0 or not self.unit_price.is_finite() or self.unit_price < 0:
            raise ValueError("quantity and unit price must not be negative")
        check_treatment(self.tax_category, self.tax_rate, self.exemption)
        return self

    @property
    def net_amount(self) -> Decimal:
        return self.amount

    def taxed(self) -> Taxed:
        return Taxed(self.amount, self.tax_category, self.tax_rate, self.exemption)


class DocumentReference(Frozen):
    """The document a credit note cancels (BG-3: BT-25 its number, BT-26 its issue date)."""

    id: str
    number: str
    issue_date: date


class DocumentLink(Frozen):
    """Another document, by id and number: the invoice a replacement replaces, the documents that corrected one."""

    id: str
    number: str


class CorrectedBy(Frozen):
    """What corrected an invoice (DESIGN 15.1): the credit note that cancels it and the invoice that replaces it."""

    credit_note: DocumentLink
    replacement: DocumentLink
class TaxCurrency(Frozen):
    """The VAT total in the seller's accounting currency for a document in another currency (BT-6, BT-111), at the
    seller's rate in force on the issue date: kept with the document, as issued."""

    code: str  # BT-6
    rate: Decimal  # units of `code` for one unit of the document's currency
    tax_amount: Decimal  # BT-111: the document's VAT total x rate, rounded to `code`'s minor unit


class Invoice(Frozen):
    """An issued document (DESIGN 14.3) plus what rendering needs: the full seller snapshot and the language."""

    id: str
    number: str
    type: DocumentType = "invoice"
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
    tax_breakdown: tuple[TaxSubtotal, ...]
    net_amount: Decimal  # BT-106 = BT-109: the sum of the line nets
    tax_amount: Decimal  # BT-110: the sum of the breakdown's taxes
    total_amount: Decimal  # BT-112: net + tax
    payment_method: InvoicePaymentMethod
    language: str = DEFAULT_LANGUAGE
    cancels: DocumentReference | None = None
    replaces: DocumentLink | None = None  # a replacement invoice: the invoice its credit note cancelled
    # What happened to the document since it was issued, read from beside its record (DESIGN 15.1): never part of the
    # record, of its PDF or of its XML, which stay as issued.
    corrected_by: CorrectedBy | None = Field(default=None, exclude=True)
    tax_currency: TaxCurrency | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_single_rate_record(cls, data: Any) -> Any:
        return upgrade_single_rate_record(data) if isinstance(data, dict) else data

    @field_validator("issued_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("issued_at must carry a time zone")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _totals(self) -> Invoice:
        if not self.lines:
            raise ValueError("a document has at least one line")
        for position, line in enumerate(self.lines, start=1):
            if line.amount != round_money(Decimal(line.quantity) * line.unit_price, self.currency):
                raise ValueError(f"line {position}: amount {line.amount} is not quantity x unit price")
        expected = vat_breakdown((line.taxed() for line in self.lines), self.currency)
        if self.tax_breakdown != expected:
            raise ValueError("the VAT breakdown is not the one of the lines")
        net = sum((line.amount for line in self.lines), Decimal("0.00")).quantize(TWO_PLACES)
        tax = sum((entry.tax_amount for entry in self.tax_breakdown), Decimal("0.00")).quantize(TWO_PLACES)
        if self.net_amount != net:
            raise ValueError(f"net amount {self.net_amount} is not the sum of the lines ({net})")
        if self.tax_amount != tax:
            raise ValueError(f"tax amount {self.tax_amount} is not the sum of the VAT breakdown ({tax})")
        if self.total_amount != net + tax:
            raise ValueError(f"total amount {self.total_amount} is not net + tax ({net + tax})")
        if self.tax_currency is not None:
            converted = self.tax_currency
            if converted.code == self.currency:
                raise ValueError("the VAT is stated in another currency only when the document's differs")
            if converted.tax_amount != round_money(tax * converted.rate, converted.code):
                raise ValueError(f"tax_currency.tax_amount {converted.tax_amount} is not the VAT x {converted.rate}")
        if (self.type == "credit_note") != (self.cancels is not None):
            raise ValueError("a credit note, and only a credit note, cites the document it cancels")
        if self.type == "credit_note" and self.replaces is not None:
            raise ValueError("a credit note replaces nothing: its replacement is an invoice")
        return self

    @property
    def type_code(self) -> str:
        return DOCUMENT_TYPE_CODES[self.type]

    @property
    def tax_rate(self) -> Decimal:
        """The document's one VAT rate, as the JSON of DESIGN 14.3 shows it (a single-rate document)."""
        rates = {entry.rate for entry in self.tax_breakdown}
        if len(rates) != 1:
            raise ValueError(f"document {self.number} has {len(rates)} VAT rates, not one")
        return rates.pop()

    @property
    def reverse_charge(self) -> bool:
        return any(entry.category == "AE" for entry in self.tax_breakdown)

    @property
    def outside_scope(self) -> bool:
        """EN 16931 BR-O-02: a document with category O states no VAT identifier (BT-31, BT-48)."""
        return any(entry.category == "O" for entry in self.tax_breakdown)

    @property
    def legal_notes(self) -> tuple[str, ...]:
        """What the document states as notes: the seller's legal mentions, then each exemption's reason."""
        reasons = tuple(entry.exemption.text for entry in self.tax_breakdown if entry.exemption is not None)
        return (*self.seller.mentions(self.language), *reasons)


def upgrade_single_rate_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record written before documents had per-line VAT (header `tax_rate` and `reverse_charge`, lines without
    period or category) as the document it describes: each line takes the header's period and treatment. Newer
    records pass through unchanged."""
    if "tax_breakdown" in record or "tax_rate" not in record:
        return record
    upgraded = dict(record)
    rate = Decimal(str(upgraded.pop("tax_rate")))
    reverse = bool(upgraded.pop("reverse_charge", False))
    language = str(upgraded.get("language", DEFAULT_LANGUAGE))
    exemption = legacy_reverse_charge_exemption(language) if reverse else None
    treatment: dict[str, Any] = {
        "period": upgraded["period"],
        "tax_category": "AE" if reverse else ("S" if rate > 0 else "Z"),
        "tax_rate": rate,
        "exemption": exemption,
    }
    lines = [{**treatment, **line} for line in upgraded["lines"]]
    nets = (
        Taxed(Decimal(str(line["amount"])), line["tax_category"], Decimal(str(line["tax_rate"])), exemption)
        for line in lines
    )
    upgraded["lines"] = lines
    upgraded["tax_breakdown"] = vat_breakdown(nets, str(upgraded["currency"]))
    return upgraded
