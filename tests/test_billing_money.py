"""The currency table (domain/reference.py): one ISO 4217 exponent per accepted currency, the one billing rounds to."""

from __future__ import annotations

from decimal import Decimal

import pytest
from iso4217 import Currency

from chalicelib.domain.billing.money import minor_unit, round_money
from chalicelib.domain.reference import CURRENCIES, CURRENCY_EXPONENTS


def test_every_exponent_is_the_one_iso_4217_gives():
    wrong = {code: (exponent, Currency(code).exponent) for code, exponent in CURRENCY_EXPONENTS.items()
             if Currency(code).exponent != exponent}  # fmt: skip
    assert wrong == {}


def test_the_accepted_currencies_are_the_table():
    assert frozenset(CURRENCY_EXPONENTS) == CURRENCIES


@pytest.mark.parametrize(("currency", "unit"), [("EUR", "0.01"), ("JPY", "1"), ("KRW", "1"), ("KWD", "0.01")])
def test_minor_unit_follows_the_exponent_but_never_below_the_record_precision(currency, unit):
    assert minor_unit(currency) == Decimal(unit)


def test_zero_decimal_currencies_round_to_whole_units():
    zero = sorted(code for code, exponent in CURRENCY_EXPONENTS.items() if exponent == 0)
    assert {"JPY", "KRW", "CLP", "XAF", "XPF"} <= set(zero)
    assert {str(round_money(Decimal("1000.5"), code)) for code in zero} == {"1001.00"}
    assert str(round_money(Decimal("1000.505"), "KWD")) == "1000.51"
