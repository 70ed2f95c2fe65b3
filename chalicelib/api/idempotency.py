"""What every portal mutation goes through: a foreign `Origin` is refused (DESIGN 9), and `Idempotency-Key` makes a
retry return the first response without changing anything again."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from chalice.app import Request, Response

from chalicelib import strictjson
from chalicelib.api.http import MAX_BODY_BYTES, as_json_response, check_subscription_id, error_response
from chalicelib.container import get_container
from chalicelib.domain import errors
from chalicelib.domain.payment import CARD_NUMBER_REFUSED, contains_card_number
from chalicelib.services.identity import Caller
from chalicelib.services.portal import visible_subscription

log = logging.getLogger(__name__)

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"


def _fingerprint(request: Request) -> str:
    """The request as the client sent it: method, route, the ids in the path, and the body."""
    raw = request.raw_body or b""
    body = raw.encode() if isinstance(raw, str) else raw
    params = json.dumps(request.uri_params or {}, sort_keys=True)
    head = f"{request.method} {request.path} {params}\n".encode()
    return hashlib.sha256(head + body).hexdigest()


def _as_int(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) else value


def _refuse_foreign_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin != get_container().settings.portal_origin:
        raise errors.Forbidden("This request comes from a web page that is not the subscription portal.")


def _screen_card_numbers(request: Request) -> None:
    """Before anything reads, hashes or stores the body: its size, its encoding, then every value in it."""
    raw = request.raw_body or b""
    raw = raw.encode() if isinstance(raw, str) else raw
    if len(raw) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.")
    try:  # a body that is not UTF-8 is never valid, and could hide digits from the scan
        text = strictjson.decode_utf8(raw)
    except strictjson.StrictJsonError as error:
        raise errors.InvalidInput(f"The request body is not valid JSON: {error}.") from None
    try:
        decoded = strictjson.loads(text) if text else None
    except strictjson.StrictJsonError:
        decoded = None  # the view refuses it once it knows who is asking; the raw text is still scanned
    if contains_card_number(text, decoded):
        raise errors.InvalidInput(CARD_NUMBER_REFUSED)


def _still_visible(caller: Caller, request: Request) -> None:
    """A replay answers only a caller who could send the request afresh and see its subscription: someone who lost
    sight of it since (moved country, removed, past a deadline) gets the 404 a new request would get."""
    subscription_id = (request.uri_params or {}).get("subscription_id")
    if subscription_id is not None:
        c = get_container()
        visible_subscription(caller, check_subscription_id(subscription_id), repo=c.repo, clock=c.clock)


def mutation(
    current_request: Callable[[], Request], *, screen_card_numbers: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """`screen_card_numbers`: refuse a body holding anything like a card number before it is even fingerprinted.

    Goes inside `json_view`: a DomainError raised here (or by the view) is answered by the one error table, and an
    unexpected error is a 500 without a traceback; the idempotency record is released either way."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            request = current_request()
            _refuse_foreign_origin(request)
            if screen_card_numbers:
                _screen_card_numbers(request)
            key = request.headers.get(HEADER)
            if key is None:
                return as_json_response(view(*args, **kwargs))
            c = get_container()
            if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
                raise errors.InvalidInput("Idempotency-Key must be 1 to 255 printable ASCII characters.")
            caller = c.verifier.verify(request.headers.get("authorization"))
            scope = f"{caller.key}\n{caller.country}\n{key}"  # one person signed in for two countries is two callers
            try:
                stored = c.idempotency.begin(scope, _fingerprint(request), c.clock.now())
            except errors.DomainError:
                raise
            except Exception:
                log.exception("idempotency record could not be claimed")
                raise errors.Unavailable("Nothing was changed. Please retry in a moment.") from None
            if stored is not None:
                _still_visible(caller, request)
                return Response(
                    body=stored["body"],
                    status_code=_as_int(stored["status"]),
                    headers={**stored["headers"], REPLAYED: "true"},
                )
            try:
                response = as_json_response(view(*args, **kwargs))
            except errors.DomainError as error:
                response = error_response(error)
            except BaseException:
                _release(c, scope)
                raise
            if response.status_code >= 500:
                _release(c, scope)  # nothing was decided: let the retry run again
                return response
            body = response.body if isinstance(response.body, str) else json.dumps(response.body)
            try:
                c.idempotency.complete(
                    scope, {"status": response.status_code, "body": body, "headers": dict(response.headers)}
                )
            except Exception:  # the change is done; a retry after the lease runs again and meets the conditions
                log.exception("idempotency record could not be completed; the response is still returned")
            return response

        return wrapper

    return decorate


def _release(container: Any, scope: str) -> None:
    try:
        container.idempotency.abandon(scope)
    except Exception:
        log.exception("idempotency record could not be released; it expires with its lease")
