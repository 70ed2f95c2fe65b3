"""Document numbers (DESIGN 14.2, 15.1): one gap-free series per seller, calendar year of the issue date and document
type. Invoices number `{country}-{year}-{n:06d}`; credit notes get `{country}-{year}-C{n:06d}` from their own series
(DESIGN 15.1), so the issuer asks `series_for` rather than formatting a number itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MAX_INVOICE_SEQUENCE = 999_999

DocumentType = Literal["invoice", "credit_note"]
_SERIES_MARK: dict[DocumentType, str] = {"invoice": "", "credit_note": "C"}


@dataclass(frozen=True)
class Series:
    """A numbering series: `key` names its counter (the invoice series keep their `FR-2026` counters)."""

    key: str
    prefix: str  # what the number puts before its 6 digits

    def number(self, n: int) -> str:
        if not 1 <= n <= MAX_INVOICE_SEQUENCE:
            raise ValueError(f"invoice sequence {n} is outside 1..{MAX_INVOICE_SEQUENCE}")
        return f"{self.prefix}{n:06d}"


def series_key(country: str, year: int) -> str:
    """One numbering series per seller (country) and calendar year of the issue date."""
    if not re.fullmatch(r"[A-Z]{2}", country) or not 1000 <= year <= 9999:
        raise ValueError(f"bad invoice series {country!r}/{year!r}")
    return f"{country}-{year}"


def series_for(document_type: DocumentType, country: str, year: int) -> Series:
    base = series_key(country, year)
    mark = _SERIES_MARK[document_type]
    return Series(key=f"{base}-{mark}" if mark else base, prefix=f"{base}-{mark}")


def invoice_number(country: str, year: int, n: int) -> str:
    return series_for("invoice", country, year).number(n)
