"""One strict JSON reader for everything that comes from outside (request bodies, token parts, order messages): UTF-8
only, no byte-order mark, no duplicate keys, no NaN or Infinity (written or overflowing), no integer longer than
`MAX_INT_DIGITS` (Python refuses ints over 4,300 digits with a ValueError of its own), no nesting deep enough to
exhaust the stack. Also the one parser for whole numbers written as text (query parameters, headers)."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_INT_DIGITS = 40  # far beyond any count, version or epoch this API reads; a longer one is an attack or a mistake


class StrictJsonError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictJsonError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not a JSON number")


def _capped_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise StrictJsonError(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StrictJsonError(f"the number {text[:20]}... is too large")
    return value


def parse_whole_number(text: str, max_digits: int = MAX_INT_DIGITS) -> int | None:
    """A non-negative whole number in ASCII digits, or None. `str.isdigit()` also accepts '²' or '①', which `int()`
    then refuses, and `int()` alone accepts ' 7', '+7', '7_0' and Arabic-Indic digits."""
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def decode_utf8(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    if data.startswith(b"\xef\xbb\xbf"):
        raise StrictJsonError("a byte-order mark is not allowed; send plain UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise StrictJsonError("the body is not UTF-8") from None


def loads(data: bytes | str) -> Any:
    text = decode_utf8(data)
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_int=_capped_int,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise StrictJsonError("nested too deeply") from None
    except json.JSONDecodeError as error:
        raise StrictJsonError(error.msg) from None
