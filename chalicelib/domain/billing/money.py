"""Money (DESIGN 14.2): rounding to a currency's minor unit and the decimal strings the JSON carries.

- Every amount is a `Decimal`, rounded ROUND_HALF_UP to the currency's minor unit, and written as a decimal string with
  exactly 2 decimals (the design's "Money is a decimal string with 2 decimals").
- Zero-decimal currencies (ISO 4217 exponent 0: JPY, KRW, CLP, ...) round to whole units first and are still written
  with 2 decimals ("1235.00"), so the JSON shape never depends on the currency.
- Three-decimal currencies (BHD, KWD, OMR, ...) round to 2 decimals: the 2-decimal string is the amount of record,
  never rounded a second time.
- A unit price keeps its own precision (orders accept up to 4 decimals) with at least 2 decimals ("0.1234", "450.00").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from chalicelib.domain.reference import CURRENCY_EXPONENTS

TWO_PLACES = Decimal("0.01")
MONEY_DECIMALS = 2  # the JSON's (and the record's) precision, whatever the currency's own exponent


def minor_unit(currency: str) -> Decimal:
    """The step amounts round to: the ISO 4217 minor unit, never finer than the 2 decimals of record."""
    return Decimal(1).scaleb(-min(CURRENCY_EXPONENTS.get(currency, MONEY_DECIMALS), MONEY_DECIMALS))


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
