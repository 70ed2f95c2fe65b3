"""Text that reaches a PDF (DESIGN 15.3): every character is printed, or the value is refused before anything is
written, naming the characters. Never silently dropped.

The documents embed DejaVu Sans (regular and bold). Embedding a CJK font instead was measured and declined (README,
"What an order must carry, and the characters the documents print"): Noto Sans CJK would add 27.8 MB to the Lambda
zip and about 3 s to every render, and Arabic or Hebrew would still print wrongly without a shaping engine. So intake,
the PO number PATCH and the correction body refuse what the fonts cannot print. The check is a binary search in a
committed range table (document_text_coverage.py, tested against the fonts' cmaps): no font is opened on a request.
"""

from __future__ import annotations

import bisect
import unicodedata

from chalicelib.domain.document_text_coverage import COVERED_RANGES

_STARTS = tuple(first for first, _ in COVERED_RANGES)
_SHOWN = 5  # characters named in one reason; the rest are counted


def prints(char: str) -> bool:
    code = ord(char)
    index = bisect.bisect_right(_STARTS, code) - 1
    return index >= 0 and code <= COVERED_RANGES[index][1]


def unprintable_characters(text: str) -> list[str]:
    """The distinct characters of `text` the documents cannot print, in order of first appearance."""
    seen: dict[str, None] = {}
    for char in text:
        if char not in seen and not prints(char):
            seen[char] = None
    return list(seen)


def describe(chars: list[str]) -> str:
    """'日 (U+65E5 CJK UNIFIED IDEOGRAPH-65E5), ...': the character, its code point and name, as a reader can act on."""
    shown = [f"{char} (U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED')})" for char in chars[:_SHOWN]]
    more = f" and {len(chars) - _SHOWN} more" if len(chars) > _SHOWN else ""
    return ", ".join(shown) + more


def check_printable(value: str, what: str) -> str:
    """`value` unchanged when the documents print all of it; else ValueError naming `what` and the characters."""
    missing = unprintable_characters(value)
    if missing:
        raise ValueError(
            f"{what} has characters the invoice and agreement PDFs cannot print: {describe(missing)}; "
            "use a Latin, Greek or Cyrillic transliteration"
        )
    return value
