"""`Idempotency-Key` on every mutation: a retry with the same key returns the first response and changes nothing."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from chalice.app import Request, Response

from chalicelib.api.http import error_response
from chalicelib.container import get_container
from chalicelib.domain import errors

log = logging.getLogger(__name__)

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"


def _fingerprint(request: Request) -> str:
    raw = request.raw_body or b""
    body = raw.encode() if isinstance(raw, str) else raw
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()


def _as_int(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) else value


def idempotent(current_request: Callable[[], Request]) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            request = current_request()
            key = request.headers.get(HEADER)
            if key is None:
                return view(*args, **kwargs)
            c = get_container()
            try:
                if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
                    raise errors.InvalidInput("Idempotency-Key must be 1 to 255 printable ASCII characters.")
                caller = c.verifier.verify(request.headers.get("authorization"))
                scope = f"{caller.key}\n{key}"
                stored = c.idempotency.begin(scope, _fingerprint(request), c.clock.now())
            except errors.DomainError as error:
                return error_response(error)
            if stored is not None:
                return Response(
                    body=stored["body"],
                    status_code=_as_int(stored["status"]),
                    headers={**stored["headers"], REPLAYED: "true"},
                )
            try:
                response = view(*args, **kwargs)
            except BaseException:
                c.idempotency.abandon(scope)
                raise
            if response.status_code >= 500:
                c.idempotency.abandon(scope)  # nothing was decided: let the retry run again
                return response
            body = response.body if isinstance(response.body, str) else json.dumps(response.body)
            c.idempotency.complete(
                scope, {"status": response.status_code, "body": body, "headers": dict(response.headers)}
            )
            return response

        return wrapper

    return decorate
