"""The portal API's OpenAPI 3.1 document, generated from the route table (`app.ROUTE_TABLE`, every `@portal_route`)
and the pydantic schemas the views answer with. The errors an operation can return are derived from its declaration:

    every operation   401 (token), 413 (body over 16 KiB, read or not), 503 (identity provider or storage down)
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
    503: "Sign-in or storage cannot answer right now; nothing was changed. Retry in a moment.",
}
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
    statuses = {401, 413, 503}
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
             "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH}},
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
        success["content"] = {PDF_RESPONSE: {"schema": {"type": "string", "format": "binary"}}}
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
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary.split("\n\n")[0].replace("\n", " "),
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


def _unauthenticated(operation_id: str, summary: str, schema: dict[str, Any], cache: str) -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "summary": summary, "security": [],
                    "responses": {"200": {"description": cache, "content": {"application/json": {"schema": schema}}}}}}


def build_document(routes: Sequence[RouteDoc]) -> dict[str, Any]:
    components: dict[str, Any] = {}
    error = _schema(ErrorOut, components, "serialization")
    components["Error"] = components.pop("ErrorOut")
    components["Error"]["properties"]["Code"]["enum"] = error_codes()
    assert error == {"$ref": REF.format(model="ErrorOut")}
    paths: dict[str, dict[str, Any]] = {
        "/health": _unauthenticated("health", "Liveness.", _schema(HealthOut, components, "serialization"),
                                    "The app answers."),
        "/openapi.json": _unauthenticated("openapi", "This document.", {"type": "object"},
                                          "The OpenAPI document (cacheable)."),
    }
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, routes, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Subscription portal API",
            "version": "1",
            "description": (
                "The portal's JSON API (DESIGN 5.2). Every error has the shape `Error`. Mutations accept "
                f"`{IDEMPOTENCY_HEADER.title()}`. Lists are paginated with `limit` and `cursor` (`next_cursor`)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                           "description": "the ID token of the vendor's identity provider"}},
        },
        "security": [{"bearer": []}],
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

