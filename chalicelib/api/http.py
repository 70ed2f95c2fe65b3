"""The HTTP edge: the one table that turns domain errors into status codes, the response conventions, the origin
rule and the body reader shared by the JSON pipeline (`pipeline.py`) and the activation pages.

Chalice middleware never sees exceptions raised in views, so every view is wrapped: portal routes by `portal_route`,
pages by `page_view`, the few others by `json_view`.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from chalice.app import Blueprint, Request, Response

from chalicelib import strictjson
from chalicelib.domain import errors
from chalicelib.services.access import NOT_VISIBLE

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024

ERROR_STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.DeadlinePassed: 410,
    errors.PreconditionFailed: 412,
    errors.PayloadTooLarge: 413,
    errors.IdempotencyKeyReused: 422,
    errors.Unavailable: 503,
}

JSON_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}

_SUBSCRIPTION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SUBSCRIPTION_ID_PATTERN = _SUBSCRIPTION_ID.pattern


def status_for(error: errors.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]  # type: ignore[index]
    return 500


def check_subscription_id(subscription_id: str) -> str:
    if not _SUBSCRIPTION_ID.fullmatch(subscription_id):
        raise errors.NotFound(NOT_VISIBLE)
    return subscription_id


def check_origin(origin: str | None, allowed: frozenset[str]) -> None:
    """The one origin rule for state changes: no Origin header (not a browser's cross-site request), or an origin
    among `allowed` (compared as scheme://host[:port])."""
    if origin is None:
        return
    parts = urlsplit(origin)
    if (origin == "null" and "null" in allowed) or f"{parts.scheme}://{parts.netloc}" in allowed:
        return
    raise errors.Forbidden("This request comes from a web page that is not the subscription portal.")


def raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


# Browsers read Expose-Headers from the actual answer (never from the preflight): without it the portal cannot read
# the ETag it needs for If-Match, nor Idempotent-Replayed, nor a PDF's file name.
EXPOSED_HEADERS = "ETag, Idempotent-Replayed, Content-Disposition"


def cors_headers() -> dict[str, str]:
    from chalicelib.container import get_container

    return {
        "Access-Control-Allow-Origin": get_container().settings.portal_origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }


def api_headers() -> dict[str, str]:
    """The headers of every JSON answer, errors included: no-store, nosniff, CORS for the portal origin."""
    return {**JSON_HEADERS, **_safe_cors()}


NO_SUCH_ROUTE = {"Code": "NotFoundError", "Message": "There is no such route: check the method and the path."}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body) if body is not None else "",
        status_code=status,
        headers={**api_headers(), **(headers or {})},
    )


def _safe_cors() -> dict[str, str]:
    try:
        return cors_headers()
    except Exception:  # configuration broken: the error response still goes out
        return {}


def error_response(error: errors.DomainError) -> Response:
    body = {"Code": error.code, "Message": error.message}
    if isinstance(error, errors.InvalidInput) and error.field is not None:
        body["Field"] = error.field
    return json_response(body, status_for(error))


def parse_json_body(raw: bytes | None) -> dict[str, Any]:
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.")
    if not raw:
        raise errors.InvalidInput("The request needs a JSON object body.")
    try:
        body = strictjson.loads(raw)
    except strictjson.StrictJsonError as error:
        raise errors.InvalidInput(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise errors.InvalidInput("The request body must be a JSON object.")
    return body


INTERNAL_ERROR = {
    "Code": "InternalServerError",
    "Message": "Something went wrong; nothing was changed unless the response said so. Please retry.",
}


def as_json_response(result: Any) -> Response:
    """A view's result (a Response or a JSON-able value) with the JSON headers every API answer carries."""
    if isinstance(result, Response):
        result.headers = {**api_headers(), **result.headers}
        return result
    return json_response(result)


def respond(produce: Callable[[], Any], name: str) -> Response:
    """The error mapping every JSON route runs inside (the portal pipeline and `json_view`): the result with the JSON
    headers, a DomainError through the table, anything else a logged 500 without a traceback."""
    try:
        result = produce()
    except errors.DomainError as error:
        return error_response(error)
    except Exception:
        log.exception("unexpected error in %s", name)
        return json_response(INTERNAL_ERROR, 500)
    return as_json_response(result)


# What chalice answers itself (a wrong method, a wrong content type, a binary answer not accepted): the edge passes
# these through with its headers (`edge_middleware`); their codes are part of the contract.
FRAMEWORK_CODES = ("MethodNotAllowedError", "UnsupportedMediaType", "BadRequest")


def error_codes() -> list[str]:
    """Every `Code` an API answer can carry: each DomainError's (mapped by ERROR_STATUS, through its ancestors), the
    edge's own (no such route, an unexpected error) and the framework's."""
    found: set[str] = set()
    pending = list(ERROR_STATUS)
    while pending:
        cls = pending.pop()
        found.add(cls.code)
        pending += cls.__subclasses__()
    return sorted(found | {NO_SUCH_ROUTE["Code"], INTERNAL_ERROR["Code"], *FRAMEWORK_CODES})


def json_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """For routes outside the portal pipeline (health, the local stack's console)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        return respond(lambda: view(*args, **kwargs), view.__name__)

    return wrapper


_preflight_methods: dict[tuple[int, str], set[str]] = {}


def register_preflight(blueprint: Blueprint, path: str, methods: list[str]) -> None:
    """CORS preflight answered by the app itself: the allowed origin is configuration, read at request time."""
    key = (id(blueprint), path)
    if key in _preflight_methods:
        _preflight_methods[key].update(methods)
        return
    allowed = _preflight_methods[key] = {*methods, "OPTIONS"}

    def preflight(**_: Any) -> Response:
        return Response(
            body="",
            status_code=204,
            headers={
                **_safe_cors(),
                "Access-Control-Allow-Methods": ", ".join(sorted(allowed)),
                "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match, Idempotency-Key",
                "Access-Control-Max-Age": "600",
                "Cache-Control": "no-store",
            },
        )

    preflight.__name__ = "preflight_" + re.sub(r"\W+", "_", path).strip("_")
    blueprint.route(path, methods=["OPTIONS"])(preflight)


def _page_security_headers() -> dict[str, str]:
    return {name: value for name, value in PAGE_HEADERS.items() if name != "Content-Type"}


def body_size_error(request: Request) -> Response | None:
    if len(raw_body(request)) > MAX_BODY_BYTES:
        return error_response(errors.PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB."))
    return None


def edge_middleware(request: Request | None, get_response: Callable[[Request | None], Response]) -> Response:
    """Chalice HTTP middleware: what every request and every answer goes through, the framework's own included.

    The body limit holds for every route, whether it reads a body or not. Chalice answers a wrong method (405), a
    wrong content type (415) or an unhandled error itself, without our headers (and, in debug, with a traceback):
    those answers get the API's JSON headers and CORS, and a 5xx gets the API's message."""
    too_large = body_size_error(request) if request is not None else None
    if too_large is not None:
        if request is not None and request.path.startswith("/activate/"):
            # A token page's URL carries the token: its refusal must not leak it by referrer or be framed either.
            too_large.headers = {**too_large.headers, **_page_security_headers()}
        return too_large
    response = get_response(request)
    if not any(name.lower() == "cache-control" for name in response.headers):
        if response.status_code >= 500:
            response.body = json.dumps(INTERNAL_ERROR)
        response.headers = {**api_headers(), **response.headers}
    return response
