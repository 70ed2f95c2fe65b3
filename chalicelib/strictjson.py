"""One strict JSON reader for everything that comes from outside (request bodies, token parts): UTF-8 only, no
byte-order mark, no duplicate keys, no NaN or Infinity, no nesting deep enough to exhaust the stack."""

from __future__ import annotations

import json
from typing import Any


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
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise StrictJsonError("nested too deeply") from None
    except json.JSONDecodeError as error:
        raise StrictJsonError(error.msg) from None
