"""Pricing a term (DESIGN 14.2, 14.6): the one function that turns a subscription's term into lines, VAT and totals,
used by the invoice of the term and by the renewal reminder that announces its total.

- `net` of a line = quantity x unit price (rounded once); the VAT per (category, rate) group = the group's net x rate
  / 100 (rounded once, EN 16931); `total` = net + tax.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from chalicelib.domain.billing.document import (
    Buyer,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoicePaymentMethod,
    Period,
    TaxCurrency,
)
from chalicelib.domain.billing.formatting import invoice_language, line_description
from chalicelib.domain.billing.money import TWO_PLACES, round_money
from chalicelib.domain.billing.sellers import Seller
from chalicelib.domain.billing.tax import TaxSubtotal, VatTreatment, vat_breakdown, vat_treatment
from chalicelib.domain.identifiers import derived_electronic_address, french_siren_of_vat_id
from chalicelib.domain.models import PaymentMethod, Subscription


@dataclass(frozen=True)
class TermPrice:
    """A term's lines, VAT treatment, breakdown, totals and the mentions the document carries, as `seller` sells it
    to `buyer`: all a document of the term needs besides its identity, dates and payment terms."""

    seller: Seller
    buyer: Buyer
    period: Period
    currency: str
    treatment: VatTreatment
    lines: tuple[InvoiceLine, ...]
    breakdown: tuple[TaxSubtotal, ...]
    net: Decimal
    tax: Decimal
    total: Decimal
    mentions: tuple[str, ...]
    language: str


def price_term(
    seller: Seller,
    buyer: Buyer,
    *,
    product_code: str,
    product_name: str,
    quantity: int,
    unit_price: Decimal,
    currency: str,
    term_months: int,
    period: Period,
    language: str,
) -> TermPrice:
    if quantity < 0 or not unit_price.is_finite() or unit_price < 0:
        raise ValueError("quantity and unit price must not be negative")
    lang = invoice_language(language)
    # where the buyer is established: its address; a record without one (before DESIGN 15) is the subscription's
    buyer_country = buyer.address.country if buyer.address else buyer.country
    treatment = vat_treatment(seller.country, seller.vat_rate, buyer_country, buyer.vat_id, lang)
    line = InvoiceLine(
        product_code=product_code,
        description=line_description(product_name, term_months, lang),
        quantity=quantity,
        unit_price=unit_price,
        amount=round_money(Decimal(quantity) * unit_price, currency),
        period=period,
        tax_category=treatment.category,
        tax_rate=treatment.rate,
        exemption=treatment.exemption,
    )
    lines = (line,)
    breakdown = vat_breakdown((item.taxed() for item in lines), currency)
    net = sum((item.amount for item in lines), Decimal("0.00")).quantize(TWO_PLACES)
    tax = sum((entry.tax_amount for entry in breakdown), Decimal("0.00")).quantize(TWO_PLACES)
    reasons = tuple(entry.exemption.text for entry in breakdown if entry.exemption is not None)
    return TermPrice(
        seller=seller,
        buyer=buyer,
        period=period,
        currency=currency,
        treatment=treatment,
        lines=lines,
        breakdown=breakdown,
        net=net,
        tax=tax,
        total=net + tax,
        mentions=(*seller.mentions(lang), *reasons),
        language=lang,
    )


def tax_currency_of(seller: Seller, currency: str, tax: Decimal, issue_date: date) -> TaxCurrency | None:
    """BT-6/BT-111: a document in another currency than the seller's accounting currency also states its VAT in the
    accounting currency, at the seller's rate in force on the issue date (DESIGN 15.3)."""
    if currency == seller.accounting_currency:
        return None
    rate = seller.exchange_rate(currency, issue_date)
    if rate is None:
        raise ValueError(
            f"seller {seller.country} has no {currency} to {seller.accounting_currency} exchange rate in force on "
            f"{issue_date.isoformat()}"
        )
    code = seller.accounting_currency
    return TaxCurrency(code=code, rate=rate.rate, tax_amount=round_money(tax * rate.rate, code))


def buyer_of(subscription: Subscription) -> Buyer:
    """The buyer as a document states it: what the order gave, and the identifiers DESIGN 15.3 derives from it (a
    French buyer's SIREN from its VAT id; the electronic address from the SIREN, enterprise number or VAT id)."""
    customer = subscription.customer
    buyer_country = customer.address.country if customer.address else subscription.country
    siren = customer.siren
    if siren is None and buyer_country == "FR":
        siren = french_siren_of_vat_id(customer.vat_id)
    return Buyer(
        id=customer.id,
        name=customer.name,
        vat_id=customer.vat_id,
        address=customer.address,
        country=subscription.country,
        siren=siren,
        electronic_address=customer.electronic_address
        or derived_electronic_address(buyer_country, customer.vat_id, siren),
    )


def price_subscription_term(seller: Seller, subscription: Subscription, period: Period) -> TermPrice:
    """The price of one term of `subscription` as it stands (quantity, unit price, customer), sold by `seller`."""
    return price_term(
        seller, buyer_of(subscription), product_code=subscription.product.code,
        product_name=subscription.product.name, quantity=subscription.license_quantity,
        unit_price=subscription.unit_price, currency=subscription.currency, term_months=subscription.term_months,
        period=period, language=subscription.language,
    )  # fmt: skip


def build_invoice(
    price: TermPrice,
    *,
    invoice_id: str,
    number: str,
    subscription_id: str,
    order_id: str,
    kind: InvoiceKind,
    issued_at: datetime,
    po_number: str | None,
    payment_method: PaymentMethod | InvoicePaymentMethod,
) -> Invoice:
    """The invoice of the term `price` priced. `issued_at` is kept to the second (as the JSON shows it); the issue
    date is its UTC date; the due date adds the seller's payment terms."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must carry a time zone")
    moment = issued_at.astimezone(UTC).replace(microsecond=0)
    issue_date = moment.date()
    return Invoice(
        id=invoice_id,
        number=number,
        type="invoice",
        subscription_id=subscription_id,
        order_id=order_id,
        kind=kind,
        issue_date=issue_date,
        issued_at=moment,
        due_date=issue_date + timedelta(days=price.seller.payment_terms_days),
        period=price.period,
        seller=price.seller,
        buyer=price.buyer,
        po_number=po_number or None,
        lines=price.lines,
        currency=price.currency,
        tax_breakdown=price.breakdown,
        net_amount=price.net,
        tax_amount=price.tax,
        total_amount=price.total,
        payment_method=InvoicePaymentMethod.of(payment_method),
        language=price.language,
        tax_currency=tax_currency_of(price.seller, price.currency, price.tax, issue_date),
    )
