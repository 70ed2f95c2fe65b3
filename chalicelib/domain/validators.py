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
