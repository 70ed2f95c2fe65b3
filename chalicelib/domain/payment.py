"""Payment methods: an invoice, or a card the payment provider tokenized. Card numbers never enter this system."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import PaymentMethod

# 13 to 19 digits, optionally grouped by single spaces or dashes (how people paste card numbers).
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_TOKEN = re.compile(r"^[A-Za-z0-9_:.\-]{4,255}$")
BRANDS = frozenset(
    {"visa", "mastercard", "amex", "discover", "diners", "jcb", "unionpay", "maestro", "cartes_bancaires"}
)
CARD_NUMBER_REFUSED = (
    "The request contains what looks like a card number. Never send card numbers: send the payment provider's token "
    "with brand, last4 and expiry. Nothing was stored."
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


_SEPARATORS = re.compile(r"[\s.\-:_/]")
_DIGITS = re.compile(r"\d{13,19}")


def _has_card_digits(text: str) -> bool:
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    # Separated any other way ("4111.1111.1111.1111", "4111_1111..."): drop separators, try every 13-19 window.
    compact = _SEPARATORS.sub("", text)
    for run in re.findall(r"\d{13,}", compact):
        for length in range(13, min(19, len(run)) + 1):
            for start in range(len(run) - length + 1):
                if luhn_valid(run[start : start + length]):
                    return True
    return False


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings_in(k), *_strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, float):
        return [repr(value)]
    return []


def contains_card_number(raw: str | bytes) -> bool:
    """True when anything in a request body, raw or JSON-decoded (escapes undone), looks like a card number."""
    import json

    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if _has_card_digits(text):
        return True
    try:
        decoded = json.loads(text)
    except ValueError:
        return False
    return any(_has_card_digits(s) for s in _strings_in(decoded))


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
    if problems:
        raise InvalidInput("; ".join(problems) + ".")
    assert isinstance(month, int) and isinstance(year, int) and isinstance(brand, str)
    if (year, month) < (today.year, today.month):
        raise InvalidInput("The card has expired; use a valid card or pay by invoice.")
    return PaymentMethod(type="card", token=token, brand=brand.lower(), last4=last4, exp_month=month, exp_year=year)
