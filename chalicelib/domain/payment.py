"""Payment methods: an invoice, or a card the payment provider tokenized. Card numbers never enter this system."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import PaymentMethod

_TOKEN = re.compile(r"^[A-Za-z0-9_:.\-]{4,255}$")
BRANDS = frozenset(
    {"visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay", "maestro", "cartes_bancaires"}
)
CARD_NUMBER_REFUSED = (
    "The request contains what looks like a card number. Never send card numbers: send the payment provider's token "
    "with brand, last4 and expiry. Nothing was stored."
)

# A card number as people write it: 13 to 19 digits in one run, or in groups of 3 to 6 digits (4-4-4-4, 4-6-5, ...)
# separated by single spaces, dots, dashes, underscores, colons or slashes. Both are linear scans.
_PLAIN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")
_GROUPED = re.compile(r"(?<!\d)\d{3,6}(?:[ .\-_:/]\d{3,6}){2,5}(?!\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _has_card_digits(text: str) -> bool:
    for pattern in (_PLAIN, _GROUPED):
        for match in pattern.finditer(text):
            digits = re.sub(r"\D", "", match.group(0))
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                return True
    return False


def _texts_in(value: Any) -> list[str]:
    """Every string and number in a decoded JSON value, keys included (iterative: no depth limit to trip over)."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            found.append(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            found.append(str(item) if isinstance(item, int) else repr(item))
    return found


def contains_card_number(text: str, decoded: Any = None) -> bool:
    """True when the body text, or any value of its decoded JSON (escapes undone), looks like a card number."""
    return _has_card_digits(text) or any(_has_card_digits(t) for t in _texts_in(decoded))


_LETTER_GROUPED = re.compile(r"(?<!\d)\d{3,6}(?:[^\d]\d{3,6}){2,5}(?!\d)")


def _disguised_in_token(token: str) -> bool:
    """A "token" that is a card number in digit groups split by any one character (4111x1111x1111x1111)."""
    for match in _LETTER_GROUPED.finditer(token):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def parse_payment_method(body: dict[str, Any], today: date) -> PaymentMethod:
    kind = body.get("type")
    if kind == "invoice":
        if set(body) != {"type"}:
            raise InvalidInput('An invoice payment method takes no other fields: send {"type": "invoice"}.')
        return PaymentMethod(type="invoice")
    if kind != "card":
        raise InvalidInput("type must be 'invoice' or 'card'.")
    allowed = {"type", "token", "brand", "last4", "exp_month", "exp_year"}
    extra = sorted(set(body) - allowed)
    if extra:
        raise InvalidInput(
            f"Unknown field(s) {', '.join(extra)}; a card takes token, brand, last4, exp_month, exp_year."
        )
    token, brand, last4 = body.get("token"), body.get("brand"), body.get("last4")
    month, year = body.get("exp_month"), body.get("exp_year")
    problems = []
    if not isinstance(token, str) or not _TOKEN.match(token) or not re.search(r"[A-Za-z]", token):
        problems.append("token must be the payment provider's token (4 to 255 letters, digits, '_', '-', ':', '.')")
    if not isinstance(brand, str) or brand.lower() not in BRANDS:
        problems.append(f"brand must be one of {', '.join(sorted(BRANDS))}")
    if not isinstance(last4, str) or not re.fullmatch(r"\d{4}", last4):
        problems.append("last4 must be the last 4 digits of the card, as a string")
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        problems.append("exp_month must be a whole number from 1 to 12")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        problems.append("exp_year must be a four-digit year")
    if isinstance(token, str) and _disguised_in_token(token):
        raise InvalidInput(CARD_NUMBER_REFUSED)
    if problems:
        raise InvalidInput("; ".join(problems) + ".")
    assert isinstance(month, int) and isinstance(year, int) and isinstance(brand, str)
    if (year, month) < (today.year, today.month):
        raise InvalidInput("The card has expired; use a valid card or pay by invoice.")
    return PaymentMethod(type="card", token=token, brand=brand.lower(), last4=last4, exp_month=month, exp_year=year)
