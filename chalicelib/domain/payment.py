"""Payment methods: an invoice, or a card the payment provider tokenized. Card numbers never enter this system."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import PaymentMethod

MAX_TOKEN_LENGTH = 255
_TOKEN = re.compile(rf"^[A-Za-z0-9_:.\-]{{4,{MAX_TOKEN_LENGTH}}}$")
TOKEN_PATTERN = _TOKEN.pattern
BRANDS = frozenset(
    {"visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay", "maestro", "cartes_bancaires"}
)
CARD_NUMBER_REFUSED = (
    "The request contains what looks like a card number. Never send card numbers: send the payment provider's token "
    "with brand, last4 and expiry. Nothing was stored."
)

# A card number as people write it, or as someone hides it: 13 to 19 digits (Unicode decimal digits included) in
# consecutive digit runs, whatever separates the runs ("4111 1111 ...", "4111--1111--...", "41_11_11", "tok4111x...").
_DIGIT_RUN = re.compile(r"\d+")
MIN_CARD_DIGITS, MAX_CARD_DIGITS = 13, 19


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _has_card_digits(text: str) -> bool:
    """Linear in the text: a window of runs stops growing past 19 digits (so it spans at most 19 runs), and each
    window's Luhn sum comes from two prefix sums (one doubling the even positions, one the odd) in constant time."""
    runs = _DIGIT_RUN.findall(text)
    if not runs:
        return False
    digits = [int(char) for char in "".join(runs)]
    doubled_at_even, doubled_at_odd = [0], [0]
    for position, digit in enumerate(digits):
        even = position % 2 == 0
        doubled_at_even.append(doubled_at_even[-1] + (_DOUBLED[digit] if even else digit))
        doubled_at_odd.append(doubled_at_odd[-1] + (digit if even else _DOUBLED[digit]))
    starts = [0]
    for run in runs:
        starts.append(starts[-1] + len(run))
    for first in range(len(runs)):
        for last in range(first + 1, min(first + MAX_CARD_DIGITS, len(runs)) + 1):
            begin, end = starts[first], starts[last]
            if end - begin > MAX_CARD_DIGITS:
                break
            if end - begin >= MIN_CARD_DIGITS:
                # The rightmost digit (end - 1) is never doubled, so the doubled positions have the other parity.
                sums = doubled_at_odd if (end - 1) % 2 == 0 else doubled_at_even
                if (sums[end] - sums[begin]) % 10 == 0:
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
    """True when a value of the decoded JSON body (escapes undone; each string, number and key on its own) looks like
    a card number; for a body that is not JSON (`decoded` None), the whole text. Values are scanned one by one: the
    body's other digits (last4, expiry, a PO or a timestamp elsewhere) must not join a token's digits into a false
    match, and no value can be stored whole unless it passed on its own."""
    if decoded is None:
        return _has_card_digits(text)
    return any(_has_card_digits(t) for t in _texts_in(decoded))


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
    if not isinstance(token, str) or not _TOKEN.fullmatch(token) or not re.search(r"[A-Za-z]", token):
        problems.append("token must be the payment provider's token (4 to 255 letters, digits, '_', '-', ':', '.')")
    if not isinstance(brand, str) or brand.lower() not in BRANDS:
        problems.append(f"brand must be one of {', '.join(sorted(BRANDS))}")
    if not isinstance(last4, str) or not re.fullmatch(r"[0-9]{4}", last4):
        problems.append("last4 must be the last 4 digits of the card, as a string")
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        problems.append("exp_month must be a whole number from 1 to 12")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        problems.append("exp_year must be a four-digit year")
    if isinstance(token, str) and _has_card_digits(token):
        raise InvalidInput(CARD_NUMBER_REFUSED)
    if problems:
        raise InvalidInput("; ".join(problems) + ".")
    assert isinstance(month, int) and isinstance(year, int) and isinstance(brand, str)
    if (year, month) < (today.year, today.month):
        raise InvalidInput("The card has expired; use a valid card or pay by invoice.")
    return PaymentMethod(type="card", token=token, brand=brand.lower(), last4=last4, exp_month=month, exp_year=year)
