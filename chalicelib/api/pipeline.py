"""The one request pipeline of the portal JSON API. A route is declared once:

    @portal_route("/subscriptions/{subscription_id}/users", ["POST"], body=PERSON, role=Role.ADMIN, active=True,
                  mutation=True)
    def assign_user(call: Call[PersonIn]) -> Response: ...

and every request to it goes through the same steps, in this order:
  1. CORS preflight registered for the path; the response carries the CORS headers.
  2. Mutations: a foreign Origin is refused (DESIGN 9), then the body's screen runs on the raw bytes (the payment
     route's card-number screen) before anything reads, hashes or stores them.
  3. The bearer token is verified, once; the caller is passed on.
  4. The subscription id in the path is checked (a malformed id is the same 404 as an invisible one).
  5. Mutations with Idempotency-Key: a retry returns the first response; nothing runs again.
  6. Authorization (`role`, `active`, or `capability`: the same function as the subscription JSON's `capabilities`)
     reads the subscription once; the view gets it as `call.subject`.
  7. Only then the body is parsed into its command (403/404/409 before 400).
  8. The view calls one use case; domain errors become status codes through the one table in `http.py`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from chalice.app import Blueprint, Request, Response

from chalicelib import strictjson
from chalicelib.api.http import (
    INTERNAL_ERROR,
    MAX_BODY_BYTES,
    check_origin,
    check_subscription_id,
    error_response,
    json_response,
    parse_json_body,
    raw_body,
    register_preflight,
    respond,
)
from chalicelib.container import Container, get_container
from chalicelib.domain import errors
from chalicelib.domain.capabilities import Capability, enforce
from chalicelib.domain.models import Role
from chalicelib.services.access import MAX_PAGE, Authorized
from chalicelib.services.identity import Caller, RequestContext

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
PDF_RESPONSE = "application/pdf"  # `response=` of a route answering a PDF (binary type, `Accept: application/pdf`)
XML_RESPONSE = "application/xml"  # `response=` of a route answering an XML document (text: no Accept needed)
DEFAULT_PAGE = 20
# A cursor the server wrote holds a sort key of at most 600 characters (`decode_cursor`): well under this, encoded.
MAX_CURSOR_LENGTH = 4096

Command = TypeVar("Command")


@dataclass(frozen=True)
class BodySpec(Generic[Command]):
    """How a route reads its body: `screen` sees the raw bytes first (and may refuse them), `parse` turns the JSON
    object into the command the use case takes (raising InvalidInput)."""

    parse: Callable[[dict[str, Any]], Command]
    screen: Callable[[bytes], None] | None = None
    schema: str | None = None  # the model(s) the OpenAPI document shows for this body, by name (`schema_model`)


def schema_model(ref: str) -> Any:
    """The pydantic model named `ref` in `api/schemas.py` ("A | B": their union). Routes name their schemas rather
    than import them: the reads (GET /subscriptions, the detail) answer without importing pydantic at all, so a cold
    start pays for it only on a route that validates a body."""
    from chalicelib.api import schemas

    return functools.reduce(operator.or_, (getattr(schemas, name.strip()) for name in ref.split("|")))


def json_pointer(location: tuple[int | str, ...]) -> str:
    """RFC 6901: the path of the offending value in the body ("" for the body itself)."""
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in location)


def command(model: str, hint: str = "") -> BodySpec[Any]:
    """A body parsed by the pydantic model named `model` (`schema_model`); every problem listed in one 400 message,
    after `hint`."""

    def parse(body: dict[str, Any]) -> Any:
        from pydantic import ValidationError

        try:
            return schema_model(model).model_validate(body)
        except ValidationError as exc:
            found = exc.errors()
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {str(e['msg']).removeprefix('Value error, ')}"
                for e in found
            )
            raise errors.InvalidInput(
                f"{hint}: {problems}" if hint else f"{problems}.", field=json_pointer(found[0]["loc"])
            ) from None

    return BodySpec(parse, schema=model)


@dataclass(frozen=True)
class Call(Generic[Command]):
    """What a view receives: the request, the verified caller, the authorized subscription and the parsed body."""

    request: Request
    caller: Caller
    container: Container
    subject_or_none: Authorized | None
    body: Command

    @property
    def subject(self) -> Authorized:
        assert self.subject_or_none is not None, "the route declares no role"
        return self.subject_or_none

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query_params or {}

    @property
    def cursor(self) -> str | None:
        cursor = self.query.get("cursor") or None
        if cursor is not None and len(cursor) > MAX_CURSOR_LENGTH:
            raise errors.InvalidInput("The cursor is not valid. Start again without a cursor.")
        return cursor

    @property
    def limit(self) -> int:
        raw = self.query.get("limit")
        if raw is None:
            return DEFAULT_PAGE
        limit = strictjson.parse_whole_number(raw)
        if limit is None or not 1 <= limit <= MAX_PAGE:
            raise errors.InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE}.")
        return limit

    def context(self) -> RequestContext:
        identity = (self.request.context or {}).get("identity") or {}
        return RequestContext(
            ip=str(identity.get("sourceIp") or "unknown"),
            user_agent=str(self.request.headers.get("user-agent") or "")[:512],
        )


View = Callable[[Call[Any]], Response | dict[str, Any]]
ANY_ROLE = object()


@dataclass(frozen=True)
class RouteDoc:
    """A portal route as declared: what `openapi.py` turns into the document (the errors are derived from it)."""

    path: str
    method: str
    name: str
    summary: str
    body: BodySpec[Any] | None
    role: Role | object | None
    active: bool
    mutation: bool
    capability: Capability | None
    response: str | None
    status: int
    paginated: bool
    if_match: bool
    etag: bool
    more_errors: Mapping[int, str]


class PortalBlueprint(Blueprint):
    """A blueprint of portal routes that keeps their declarations, in order: the app collects them from the
    blueprints it registers (`route_table`) and hands them to the OpenAPI document, so no module-wide list exists."""

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self.route_docs: list[RouteDoc] = []


def route_table(*blueprints: PortalBlueprint) -> tuple[RouteDoc, ...]:
    return tuple(doc for blueprint in blueprints for doc in blueprint.route_docs)


def portal_route(
    blueprint: PortalBlueprint,
    path: str,
    methods: list[str],
    *,
    body: BodySpec[Any] | None = None,
    role: Role | object | None = None,
    active: bool = False,
    mutation: bool = False,
    capability: Capability | None = None,
    response: str | None = None,
    status: int = 200,
    paginated: bool = False,
    if_match: bool = False,
    etag: bool = False,
    more_errors: Mapping[int, str] | None = None,
) -> Callable[[View], View]:
    """`role`: ANY_ROLE (seen with any role), Role.ADMIN, or None (no subscription in the path). `active`: only an
    active subscription (409 otherwise). `capability`: the caller needs it now (`domain/capabilities.py`: 403 for a
    seat holder, 409 in the wrong status or for a vendor-managed product); it implies the admin role.

    For the OpenAPI document: `response` (the success body's model by name, see `schema_model`; PDF_RESPONSE; None
    for no body), `status`, `paginated` (`limit`/`cursor`), `if_match`, `etag` (the answer carries the subscription's
    ETag) and `more_errors`: statuses the declaration does not imply, with what they mean. The view's docstring is the
    operation's summary."""
    if capability is not None:
        role = Role.ADMIN

    def decorate(view: View) -> View:
        summary = (view.__doc__ or view.__name__.replace("_", " ")).strip()
        for method in methods:
            blueprint.route_docs.append(
                RouteDoc(path, method, view.__name__ if len(methods) == 1 else f"{view.__name__}_{method.lower()}",
                         summary, body, role, active, mutation, capability, response, status, paginated, if_match,
                         etag, more_errors or {})
            )

        def handler(**uri: str) -> Response:
            request = blueprint.current_request
            try:
                container = get_container()
                if mutation:
                    check_origin(request.headers.get("origin"), frozenset({container.settings.portal_origin}))
                    if body is not None and body.screen is not None:
                        body.screen(_bounded(raw_body(request)))
                caller: Caller = container.verifier.verify(request.headers.get("authorization"))
                subscription_id = uri.get("subscription_id")
                if subscription_id is not None:
                    check_subscription_id(subscription_id)
            except errors.DomainError as error:
                return error_response(error)
            except Exception:
                log.exception("unexpected error before %s", view.__name__)
                return json_response(INTERNAL_ERROR, 500)

            def steps() -> Response | dict[str, Any]:
                subject = None
                if capability is not None and subscription_id is not None:
                    subject = container.access.authorize(caller, subscription_id, role=None, active=False)
                    enforce(capability, subject.role, subject.subscription, container.settings.product_catalogue())
                elif role is not None and subscription_id is not None:
                    wanted = role if isinstance(role, Role) else None
                    subject = container.access.authorize(caller, subscription_id, role=wanted, active=active)
                parsed = body.parse(parse_json_body(raw_body(request))) if body is not None else None
                return view(Call(request, caller, container, subject, parsed))

            def run() -> Response:
                return respond(steps, view.__name__)

            key = request.headers.get(IDEMPOTENCY_HEADER) if mutation else None
            return run() if key is None else _idempotent(container, request, caller, key, run)

        handler.__name__ = view.__name__
        register_preflight(blueprint, path, methods)
        blueprint.route(path, methods=methods)(handler)
        return view

    return decorate


def _bounded(raw: bytes) -> bytes:
    if len(raw) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.")
    return raw


# -- idempotency -----------------------------------------------------------------------------------------------------
def _fingerprint(request: Request) -> str:
    """The request as the client sent it: method, route, the ids in the path, and the body."""
    params = json.dumps(request.uri_params or {}, sort_keys=True)
    head = f"{request.method} {request.path} {params}\n".encode()
    return hashlib.sha256(head + raw_body(request)).hexdigest()


def _idempotent(
    container: Container, request: Request, caller: Caller, key: str, run: Callable[[], Response]
) -> Response:
    try:
        if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
            raise errors.InvalidInput("Idempotency-Key must be 1 to 255 printable ASCII characters.")
        scope = f"{caller.key}\n{caller.country}\n{key}"  # one person signed in for two countries is two callers
        stored = container.idempotency.begin(scope, _fingerprint(request), container.clock.now())
        if stored is not None:
            _still_visible(container, caller, request)
    except errors.DomainError as error:
        return error_response(error)
    except Exception:
        log.exception("idempotency record could not be claimed")
        return error_response(errors.Unavailable("Nothing was changed. Please retry in a moment."))
    if stored is not None:
        status = stored["status"]
        return Response(
            body=stored["body"],
            status_code=int(status) if isinstance(status, Decimal) else status,
            headers={**stored["headers"], REPLAYED: "true"},
        )
    try:
        response = run()
    except BaseException:
        _release(container, scope)
        raise
    if response.status_code >= 500:
        _release(container, scope)  # nothing was decided: let the retry run again
        return response
    body = response.body if isinstance(response.body, str) else json.dumps(response.body)
    try:
        container.idempotency.complete(
            scope, {"status": response.status_code, "body": body, "headers": dict(response.headers)}
        )
    except Exception:  # the change is done; a retry after the lease runs again and meets the conditions
        log.exception("idempotency record could not be completed; the response is still returned")
    return response


def _still_visible(container: Container, caller: Caller, request: Request) -> None:
    """A replay answers only a caller who could send the request afresh and see its subscription: someone who lost
    sight of it since (moved country, removed, past a deadline) gets the 404 a new request would get."""
    subscription_id = (request.uri_params or {}).get("subscription_id")
    if subscription_id is not None:
        container.access.visible(caller, subscription_id)


def _release(container: Container, scope: str) -> None:
    try:
        container.idempotency.abandon(scope)
    except Exception:
        log.exception("idempotency record could not be released; it expires with its lease")


# -- body screens ----------------------------------------------------------------------------------------------------
def refuse_card_numbers(raw: bytes) -> None:
    """Before anything reads, hashes or stores the body: its encoding, then every value in it (size is checked
    first by the pipeline)."""
    from chalicelib.domain.payment import CARD_NUMBER_REFUSED, contains_card_number

    try:  # a body that is not UTF-8 is never valid, and could hide digits from the scan
        text = strictjson.decode_utf8(raw)
    except strictjson.StrictJsonError as error:
        raise errors.InvalidInput(f"The request body is not valid JSON: {error}.") from None
    try:
        decoded = strictjson.loads(text) if text else None
    except strictjson.StrictJsonError:
        decoded = None  # refused by the parser once the caller is known to be allowed; the raw text is still scanned
    if contains_card_number(text, decoded):
        raise errors.InvalidInput(CARD_NUMBER_REFUSED)
