"""The portal API's OpenAPI 3.1 document, generated from the route table (`app.ROUTE_TABLE`, every `@portal_route`)
and the pydantic schemas the views answer with. The errors an operation can return are derived from its declaration:

    every operation   401 (token), 413 (body over 16 KiB, read or not), 415 (not JSON), 500 (unexpected), 503
                      (identity provider or storage down); the gateway's 429 and `default` (its 502, 504)
    a body, a page    400                     a subscription id in the path    404
    role admin        403                     active or a capability           409
    a mutation        400 (Idempotency-Key), 403 (foreign Origin), 409 (key still running), 422 (key reused)
    If-Match          412                     `more_errors`                    what the declaration adds

`python -m tools.docs` writes it to docs/openapi.json (`make docs`); `GET /openapi.json` serves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from chalicelib.api.http import SUBSCRIPTION_ID_PATTERN, error_codes
from chalicelib.api.openapi_examples import add_examples
from chalicelib.api.pipeline import (
    IDEMPOTENCY_HEADER,
    MAX_CURSOR_LENGTH,
    PDF_RESPONSE,
    REPLAYED,
    XML_RESPONSE,
    RouteDoc,
    schema_model,
)
from chalicelib.api.schemas import ErrorOut, HealthOut
from chalicelib.domain.models import Role
from chalicelib.domain.validators import MAX_EMAIL_LENGTH
from chalicelib.services.access import MAX_PAGE
from chalicelib.services.administration import MAX_IF_MATCH_LENGTH
from chalicelib.services.billing import INVOICE_ID_PATTERN

REF = "#/components/schemas/{model}"
ERROR_MEANING = {
    400: "Invalid input: the message says what to fix. Nothing was changed.",
    401: "No token, or the token is invalid or expired: sign in again.",
    403: "Only the subscription's administrator may do this (or the request came from a foreign web page).",
    404: "No such subscription (or seat) visible to the caller: never reveals whether it exists.",
    409: "The subscription's state does not allow this now (see `capabilities`), or a retry is still running.",
    410: "Gone: the activation period ended.",
    422: "This Idempotency-Key was already used for a different request: use a new key. Nothing was changed.",
    412: "`If-Match` names an older version: read the subscription again.",
    413: "The request body is larger than 16 KiB.",
    415: "The request's `Content-Type` is not `application/json`: send JSON, or no body at all. Nothing was changed.",
    500: "An unexpected error (logged with the request id): nothing was decided. Retry later; a mutation retried with "
         "the same `Idempotency-Key` runs again.",
    503: "Sign-in or storage cannot answer right now; nothing was changed. Retry in a moment.",
}
# API Gateway's own answers, in the same shape (infra/stack/api.py's GatewayResponses); their Code is the gateway's
# response type (`THROTTLED`, `INTEGRATION_TIMEOUT`, ...), an open list, hence a schema of their own.
THROTTLED = ("Too many requests: the gateway throttles the API (rate and burst limits per stage). Nothing was "
             "changed; retry after a pause, with the same `Idempotency-Key` for a mutation.")
UNFORESEEN = "The gateway's own failure (502, 504: the function failed or timed out). Nothing was decided; retry later."
# Each operation's tag, by the first fragment of its path that matches (an operation added under one of these paths
# lands in its group without a change here).
TAGS = (
    ("Billing", "/invoices", "The subscription's invoices (DESIGN 14): JSON, the Factur-X PDF, the e-invoice."),
    ("Agreement", "/agreement", "The agreement accepted (or to accept), as JSON and as a PDF."),
    ("Activation", "/activation", "A pending subscription: accept the agreement, or get the activation email again."),
    ("Seats", "/users", "The named users of an active subscription: list, assign, remove."),
    ("Administrator", "/admin-", "Hand the subscription over to another administrator."),
    ("History", "/history", "What happened to the subscription, newest first."),
    ("Entitlements", "/me/", "What the signed-in person may use now."),
    ("Subscriptions", "/subscriptions", "The caller's subscriptions: list, detail, PO number, payment, cancellation."),
)
SERVICE_TAG = ("Service", "", "Liveness and this document (no token).")
# A deployed stage (the local stack, `make dev`, serves the same document at http://127.0.0.1:8000: HTTPS-only here,
# as a client outside a developer's machine must use). `x-internal: false`: the portal's public API.
SERVERS = [
    {"url": "https://{api_id}.execute-api.{region}.amazonaws.com/{stage}", "description": "A deployed stage.",
     "x-internal": False,
     "variables": {"api_id": {"default": "portal", "description": "the REST API's id (the stack's `ApiId`)"},
                   "region": {"default": "eu-west-1"},
                   "stage": {"default": "prod", "enum": ["dev", "prod"]}}},
]
INT32 = 2**31 - 1
SUBSCRIPTION_DETAIL = ("/subscriptions/{subscription_id}", "get")
UUID_LENGTH = 36
PATH_PARAMETERS = {  # what the server checks each path parameter against (a malformed id: 404, as an unknown one)
    "subscription_id": {"type": "string", "format": "uuid", "pattern": SUBSCRIPTION_ID_PATTERN,
                        "maxLength": UUID_LENGTH},
    "invoice_id": {"type": "string", "format": "uuid", "pattern": INVOICE_ID_PATTERN, "maxLength": UUID_LENGTH},
    # no seat holder's address is longer (intake and the seat route refuse it): a longer one holds no seat, 404
    "email": {"type": "string", "format": "email", "minLength": 1, "maxLength": MAX_EMAIL_LENGTH},
}


def _schema(model: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(mode=mode, ref_template=REF)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    if "title" in schema and "properties" in schema:  # a model: shared as a component, referenced
        name = schema["title"]
        components[name] = schema
        return {"$ref": REF.format(model=name)}
    return schema


def _errors(route: RouteDoc) -> dict[int, str]:
    statuses = {401, 413, 415, 500, 503}  # 415: chalice checks `Content-Type` on every request, before any view
    if route.body is not None or route.paginated or route.mutation:
        statuses.add(400)
    if route.role is Role.ADMIN or route.mutation:
        statuses.add(403)
    if "{" in route.path:
        statuses.add(404)
    if route.active or route.capability is not None or route.mutation:
        statuses.add(409)
    if route.if_match:
        statuses.add(412)
    if route.mutation:
        statuses.add(422)
    meanings = {status: ERROR_MEANING[status] for status in statuses}
    meanings.update(route.more_errors)
    return dict(sorted(meanings.items()))


def _parameters(route: RouteDoc) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for name in re.findall(r"{(\w+)}", route.path):
        parameters.append({"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]})
    if route.paginated:
        parameters += [
            {"name": "limit", "in": "query", "required": False, "description": "page size (default 20)",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
            {"name": "cursor", "in": "query", "required": False,
             "description": "`next_cursor` of the previous page",
             # what the server writes: base64url, behind a phase letter and ':' on the candidates list
             "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH,
                        "pattern": "^[A-Za-z0-9_:-]+$"}},
        ]
    if route.mutation:
        parameters.append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "a retry with the same key returns the first response (header `Idempotent-Replayed`)",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
        })
    if route.if_match:
        parameters.append({
            "name": "If-Match", "in": "header", "required": False,
            "description": "the `ETag` read before: the change applies only to that version (else 412)",
            "schema": {"type": "string", "maxLength": MAX_IF_MATCH_LENGTH},
        })
    return parameters


def _links(route: RouteDoc, routes: Sequence[RouteDoc]) -> dict[str, Any]:
    """The stateful walk: list -> detail -> every operation on that subscription; a new seat -> its removal."""
    if (route.path, route.method.lower()) == ("/subscriptions", "get"):
        detail = next(r for r in routes if (r.path, r.method.lower()) == SUBSCRIPTION_DETAIL)
        return {"detail": {"operationId": detail.name, "parameters": {"subscription_id": "$response.body#/items/0/id"}}}
    if (route.path, route.method.lower()) == SUBSCRIPTION_DETAIL:
        return {
            other.name: {"operationId": other.name, "parameters": {"subscription_id": "$response.body#/id"}}
            for other in routes
            if other.path.startswith("/subscriptions/{subscription_id}") and "{email}" not in other.path
            and other is not route
        }
    if route.path.endswith("/users") and route.method == "POST":
        return {
            other.name: {"operationId": other.name, "parameters": {
                "subscription_id": "$request.path.subscription_id", "email": "$response.body#/email"}}
            for other in routes if other.path.endswith("/users/{email}")
        }
    return {}


def _operation(route: RouteDoc, routes: Sequence[RouteDoc], components: dict[str, Any]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Success."}
    if route.response == PDF_RESPONSE:
        # format binary for OpenAPI 3.0 generators, contentMediaType for 3.1's: both keep the bytes as a file
        success["content"] = {PDF_RESPONSE: {"schema": {
            "type": "string", "format": "binary", "contentMediaType": PDF_RESPONSE}}}
        success["headers"] = {"Content-Disposition": {
            "required": True, "description": '`attachment; filename="<name>.pdf"`', "schema": {"type": "string"}}}
    elif route.response == XML_RESPONSE:
        success["content"] = {XML_RESPONSE: {"schema": {"type": "string"}}}
        success["headers"] = {"Content-Disposition": {
            "required": True, "description": '`attachment; filename="<number>.xml"`', "schema": {"type": "string"}}}
    elif route.response is not None:
        answer = _schema(schema_model(route.response), components, "serialization")
        success["content"] = {"application/json": {"schema": answer}}
    headers: dict[str, Any] = {}
    if route.etag:
        headers["ETag"] = {"required": True, "description": "the subscription's version, for `If-Match`",
                           "schema": {"type": "string"}}
    if route.mutation:
        headers[REPLAYED] = {"required": False, "description": "`true` when this is the stored first response",
                             "schema": {"type": "string", "enum": ["true"]}}
    if headers:
        success["headers"] = headers
    links = _links(route, routes)
    if links:
        success["links"] = links
    responses: dict[str, Any] = {str(route.status): success}
    for status, meaning in _errors(route).items():
        responses[str(status)] = {"description": meaning,
                                  "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
    responses.update(_gateway_responses())
    summary, _, more = route.summary.partition("\n\n")
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": " ".join(summary.split()),  # the docstring's first paragraph, unwrapped
        "description": "\n\n".join(part for part in (" ".join(more.split()), _who(route)) if part),
        "tags": [_tag(route.path)],
        "security": [{"bearer": []}],
        "parameters": _parameters(route),
        "responses": responses,
    }
    if route.body is not None and route.body.schema is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": _schema(schema_model(route.body.schema), components, "validation")}
            },
        }
    if not operation["parameters"]:
        del operation["parameters"]
    return operation


def _gateway_responses() -> dict[str, Any]:
    gateway = {"application/json": {"schema": {"$ref": REF.format(model="GatewayError")}}}
    return {"429": {"description": THROTTLED, "content": gateway},
            "default": {"description": UNFORESEEN, "content": gateway}}


def _integer_formats(node: Any) -> None:
    """Every integer says its width (int32 when its bounds fit, else int64) for generators in typed languages."""
    if isinstance(node, dict):
        if node.get("type") == "integer" and "format" not in node:
            fits = node.get("minimum", 0) >= -INT32 - 1 and node.get("maximum", INT32 + 1) <= INT32
            node["format"] = "int32" if fits else "int64"
        for child in node.values():
            _integer_formats(child)
    elif isinstance(node, list):
        for child in node:
            _integer_formats(child)


def _tag(path: str) -> str:
    return next(tag for tag, fragment, _ in TAGS if fragment in path)


def _who(route: RouteDoc) -> str:
    """Who may call it, and when: what the declaration enforces, in the words a frontend developer needs."""
    if route.role is None:
        who = "Any signed-in person; the answer covers the caller's own subscriptions in the token's country."
    elif route.role is Role.ADMIN:
        who = "The subscription's administrator (a seat holder gets 403, anyone else 404)."
    else:
        who = "The subscription's administrator or a seat holder (the answer is that person's view); anyone else 404."
    if route.capability is not None:
        who += f" Only while `capabilities.{route.capability}` is true (else 403 or 409)."
    elif route.active:
        who += " Only while the subscription is active (else 409)."
    return who


def _unauthenticated(operation_id: str, summary: str, schema: dict[str, Any], cache: str) -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "summary": summary, "tags": [SERVICE_TAG[0]], "security": [],
                    "description": "No token needed.",
                    "responses": {"200": {"description": cache, "content": {"application/json": {"schema": schema}}},
                                  **{str(status): {"description": ERROR_MEANING[status], "content": {
                                      "application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
                                     for status in (413, 415, 500)},  # the edge's, before any route
                                  **_gateway_responses()}}}


def build_document(routes: Sequence[RouteDoc]) -> dict[str, Any]:
    components: dict[str, Any] = {}
    error = _schema(ErrorOut, components, "serialization")
    components["Error"] = components.pop("ErrorOut")
    components["Error"]["properties"]["Code"]["enum"] = error_codes()
    assert error == {"$ref": REF.format(model="ErrorOut")}
    components["GatewayError"] = {
        "title": "GatewayError", "type": "object", "required": ["Code", "Message"],
        "description": "What API Gateway answers itself (throttled, timed out), in the shape of `Error`.",
        "properties": {"Code": {"type": "string", "description": "the gateway's response type",
                                "examples": ["THROTTLED"]},
                       "Message": {"type": "string", "examples": ["Too Many Requests"]}},
    }
    paths: dict[str, dict[str, Any]] = {
        "/health": _unauthenticated("health", "Liveness.", _schema(HealthOut, components, "serialization"),
                                    "The app answers."),
        "/openapi.json": _unauthenticated("openapi", "This document.", {"type": "object"},
                                          "The OpenAPI document (cacheable)."),
    }
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, routes, components)
    add_examples(components)
    used = {operation["tags"][0] for item in paths.values() for operation in item.values()}
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Subscription portal API",
            "version": "1",
            "description": (
                "The portal's JSON API (DESIGN 5.2). Every error has the shape `Error`; the gateway's own answers "
                "(429, 5xx) the same shape as `GatewayError`. Timestamps are UTC with milliseconds "
                "(`2026-11-26T10:00:00.000Z`), days `YYYY-MM-DD`, money decimal strings. Mutations accept "
                f"`{IDEMPOTENCY_HEADER.title()}`. Lists are paginated with `limit` and `cursor`: `next_cursor` is "
                "null on the last page. A method a path does not have is a 405 (`MethodNotAllowedError`)."
            ),
        },
        "servers": SERVERS,
        "tags": [{"name": tag, "description": text} for tag, _, text in (*TAGS, SERVICE_TAG) if tag in used],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "the ID token of the vendor's identity provider, checked as RFC8725 recommends: "
                               "RS256 only, issuer, audience and expiry"}},
        },
        "security": [{"bearer": []}],
    }
    _integer_formats(document)
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

