"""Input validators shared by the order intake, the portal's request bodies, the token verifier and the local stack.
Each returns the cleaned value or raises ValueError with a message a person can act on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.document_text import check_printable
from chalicelib.domain.identifiers import ElectronicAddress, electronic_address_problem, siren_problem
from chalicelib.domain.models import PostalAddress, is_printable, tidy_text
from chalicelib.domain.reference import COUNTRIES

_EMAIL = re.compile(  # a conservative ASCII dot-atom: what SES accepts and what cannot split a To: header
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
EMAIL_PATTERN = _EMAIL.pattern
MAX_EMAIL_LENGTH = 254
MAX_PO_LENGTH = 35
MAX_NAME_LENGTH = 200


def validate_email(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(value) or len(value.split("@")[0]) > 64:
        shown = repr(value[:80]) if value.isascii() and value.isprintable() else "this value"
        raise ValueError(f"{shown} is not a valid email address (ASCII letters, digits and . _ + - before the @)")
    return value


def validate_po_number(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_PO_LENGTH:
        raise ValueError(f"PO number is {len(value)} characters long; at most {MAX_PO_LENGTH} are allowed")
    if not is_printable(value):
        raise ValueError("PO number may contain printable characters only")
    return check_printable(value, "PO number")  # it is printed on every invoice


def clean_text(value: str, what: str) -> str:
    value = tidy_text(value)
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_NAME_LENGTH or not is_printable(value):
        raise ValueError(f"{what} must be at most {MAX_NAME_LENGTH} printable characters")
    return value


_VAT_ID = re.compile(r"^[A-Z]{2}[A-Z0-9+*]{2,13}$")
MAX_ADDRESS_LINES = 4
MAX_POSTAL_CODE_LENGTH = 16


def validate_vat_id(value: str) -> str:
    """A VAT identification number with its country prefix (FR12345678901, DE123456789, BE0123456789); spaces, dots
    and hyphens people type are dropped. Only the shape is checked: the vendor's tax team verifies numbers (VIES)."""
    compact = re.sub(r"[\s.\-]", "", value).upper()
    if not _VAT_ID.fullmatch(compact):
        raise ValueError(
            "VAT identifier must be a 2-letter country prefix followed by 2 to 13 letters or digits, e.g. FR12345678901"
        )
    return compact


def validate_postal_code(value: str) -> str:
    value = tidy_text(value)
    if not value or len(value) > MAX_POSTAL_CODE_LENGTH or not is_printable(value):
        raise ValueError(f"postal code must be 1 to {MAX_POSTAL_CODE_LENGTH} printable characters")
    return value


def clean_document_text(value: str, what: str) -> str:
    """`clean_text` for a value a PDF prints (names, address lines, product): also refused when a character has no
    glyph in the documents' fonts (DESIGN 15.3: never silently dropped)."""
    return check_printable(clean_text(value, what), what)


def validate_siren(value: Any) -> str:
    """The buyer's SIREN (BT-47): 9 digits with a valid Luhn check digit; spaces people type are dropped."""
    if not isinstance(value, str):
        raise ValueError("must be a string of 9 digits, e.g. \"999000011\"")
    compact = re.sub(r"\s", "", value)
    problem = siren_problem(compact)
    if problem:
        raise ValueError(problem)
    return compact


def validate_electronic_address(value: Any) -> ElectronicAddress:
    """A party's electronic address (BT-49): `{"scheme": EAS code, "id": ...}`, the id in its scheme's format."""
    if not isinstance(value, Mapping) or set(value) != {"scheme", "id"}:
        raise ValueError('must be an object {"scheme": "<EAS code>", "id": "<address>"}, e.g. {"scheme": "0225", '
                         '"id": "999000011"}')
    scheme, identifier = value["scheme"], value["id"]
    if not isinstance(scheme, str) or not isinstance(identifier, str):
        raise ValueError("scheme and id must be strings")
    problem = electronic_address_problem(scheme, identifier)
    if problem:
        raise ValueError(problem)
    return ElectronicAddress(scheme=scheme, id=identifier)


# Postal codes as each country writes them, upper case (the EU's, the EFTA's and a few more the vendor sells to). An
# address in one of these countries needs its postal code; elsewhere it is optional (many countries have none).
POSTAL_CODE_FORMATS: dict[str, re.Pattern[str]] = {
    country: re.compile(pattern)
    for country, pattern in {
        "AT": r"[0-9]{4}", "BE": r"[0-9]{4}", "BG": r"[0-9]{4}", "CH": r"[0-9]{4}", "CY": r"[0-9]{4}",
        "CZ": r"[0-9]{3} ?[0-9]{2}", "DE": r"[0-9]{5}", "DK": r"[0-9]{4}", "EE": r"[0-9]{5}", "ES": r"[0-9]{5}",
        "FI": r"[0-9]{5}", "FR": r"[0-9]{5}", "GB": r"GIR ?0AA|[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}",
        "GR": r"[0-9]{3} ?[0-9]{2}", "HR": r"[0-9]{5}", "HU": r"[0-9]{4}", "IS": r"[0-9]{3}", "IT": r"[0-9]{5}",
        "LI": r"[0-9]{4}", "LT": r"(?:LT-)?[0-9]{5}", "LU": r"(?:L-)?[0-9]{4}", "LV": r"(?:LV-)?[0-9]{4}",
        "MC": r"980[0-9]{2}", "MT": r"[A-Z]{3} ?[0-9]{4}", "NL": r"[0-9]{4} ?[A-Z]{2}", "NO": r"[0-9]{4}",
        "PL": r"[0-9]{2}-[0-9]{3}", "PT": r"[0-9]{4}-[0-9]{3}", "RO": r"[0-9]{6}", "SE": r"[0-9]{3} ?[0-9]{2}",
        "SI": r"(?:SI-)?[0-9]{4}", "SK": r"[0-9]{3} ?[0-9]{2}", "US": r"[0-9]{5}(?:-[0-9]{4})?",
    }.items()
}  # fmt: skip


def postal_code_problem(postal_code: str | None, country: str) -> str | None:
    """Why an address in `country` cannot carry `postal_code` (already cleaned), or None."""
    pattern = POSTAL_CODE_FORMATS.get(country)
    if pattern is None:
        return None
    if postal_code is None:
        return f"a postal code is required for an address in {country}"
    if not pattern.fullmatch(postal_code):
        return f"{postal_code!r} is not a postal code of {country} (as the country writes them, in upper case)"
    return None


def postal_address_problems(raw: Any) -> tuple[PostalAddress | None, list[str]]:
    """A buyer's postal address as an invoice states it (DESIGN 4, 15.3), from `{"lines": [1 to MAX_ADDRESS_LINES],
    "postal_code", "city", "country"}`: the address, or None and every reason, each naming its field."""
    if not isinstance(raw, Mapping):
        return None, ['must be an object {"lines": [...], "postal_code", "city", "country"}']
    reasons = [f"{key}: unknown field" for key in sorted(set(raw) - {"lines", "postal_code", "city", "country"})]
    lines = raw.get("lines")
    cleaned_lines: list[str] = []
    if not isinstance(lines, list) or not 1 <= len(lines) <= MAX_ADDRESS_LINES:
        reasons.append(f"lines: 1 to {MAX_ADDRESS_LINES} street lines are required")
    else:
        for index, line in enumerate(lines):
            try:
                cleaned_lines.append(clean_document_text(_string(line), "address line"))
            except ValueError as error:
                reasons.append(f"lines.{index}: {error}")
    city = _field(raw, "city", lambda v: clean_document_text(_string(v), "city"), reasons, required=True)
    postal_code = _field(raw, "postal_code", lambda v: check_printable(validate_postal_code(_string(v)),
                                                                        "postal code"), reasons, required=False)
    country = raw.get("country")
    if not isinstance(country, str) or country not in COUNTRIES:
        reasons.append(f"country: '{str(country)[:10]}' is not an ISO 3166-1 alpha-2 country code (e.g. FR)")
    elif not any(reason.startswith("postal_code") for reason in reasons):
        problem = postal_code_problem(postal_code, country)
        if problem:
            reasons.append(f"postal_code: {problem}")
    if reasons:
        return None, reasons
    assert isinstance(country, str)
    return PostalAddress(lines=tuple(cleaned_lines), postal_code=postal_code, city=city, country=country), []


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _field(raw: Mapping[str, Any], name: str, check: Any, reasons: list[str], *, required: bool) -> Any:
    value = raw.get(name)
    if value is None:
        if required:
            reasons.append(f"{name} is required")
        return None
    try:
        return check(value)
    except ValueError as error:
        reasons.append(f"{name}: {error}")
        return None
