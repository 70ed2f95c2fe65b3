"""Input validators shared by the order intake, the portal's request bodies, the token verifier and the local stack.
Each returns the cleaned value or raises ValueError with a message a person can act on."""

from __future__ import annotations

import re

from chalicelib.domain.models import is_printable, tidy_text

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
    return value


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


_SIREN = re.compile(r"^[0-9]{9}$")
_EAS_SCHEME = re.compile(r"^(?:[0-9]{4}|EM)$")  # the CEF EAS code list: ISO 6523 ICDs (0002, 0208, 0225, ...), EM
MAX_ELECTRONIC_ADDRESS_LENGTH = 100


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def validate_siren(value: str) -> str:
    """A French SIREN: 9 digits with a valid Luhn key (spaces people type are dropped)."""
    compact = re.sub(r"\s", "", value)
    if not _SIREN.fullmatch(compact) or not luhn_is_valid(compact):
        raise ValueError("SIREN must be the 9 digits of a French company number, with a valid check digit (Luhn)")
    return compact


def validate_electronic_address(scheme: str, identifier: str) -> tuple[str, str]:
    """An e-invoicing address (EN 16931 BT-34/BT-49): an EAS scheme and an identifier under it. Scheme 0225 (the
    French directory) starts with the SIREN it belongs to."""
    scheme, identifier = scheme.strip(), identifier.strip()
    if not _EAS_SCHEME.fullmatch(scheme):
        raise ValueError("electronic address scheme must be an EAS code: 4 digits (e.g. 0225, 0208, 9930) or EM")
    if (
        not identifier
        or len(identifier) > MAX_ELECTRONIC_ADDRESS_LENGTH
        or not identifier.isascii()
        or not identifier.isprintable()
        or any(char.isspace() for char in identifier)
    ):
        raise ValueError(
            f"electronic address id must be 1 to {MAX_ELECTRONIC_ADDRESS_LENGTH} printable ASCII characters "
            "without spaces"
        )
    if scheme == "0225":
        validate_siren(identifier[:9])
    return scheme, identifier
