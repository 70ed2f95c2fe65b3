"""The OpenAPI document is precise enough to generate a correct client from (issue 17): each property asserted on the
served GET /openapi.json, and the server's real answers (chalice's test client) validated against it with a JSON
Schema validator, formats included."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.support import ADMIN, SEAT
from tests.test_administration import body_of, call

REF = "#/components/schemas/"


@pytest.fixture
def document(client) -> dict[str, Any]:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    return json.loads(response.body)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # the document's components sit beside the schema, so its "#/components/..." references resolve as they do there
    root = {**schema, "components": document["components"]}
    return Draft202012Validator(root, format_checker=FormatChecker())


def operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method.lower()]
    return found


def answer_schema(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    responses = operation(document, path, method)["responses"]
    assert str(status) in responses, (path, method, status)
    schema: dict[str, Any] = responses[str(status)]["content"]["application/json"]["schema"]
    return schema


def assert_valid(document: dict[str, Any], path: str, method: str, response: Any) -> Any:
    """The real answer is documented for its operation and status, and its body validates against the schema."""
    body = body_of(response)
    schema = answer_schema(document, path, method, response.status_code)
    errors = _validator(document, schema).iter_errors(body)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    assert not problems, (path, method, response.status_code, problems, body)
    return body


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def matching_branches(document: dict[str, Any], schema: dict[str, Any], body: Any) -> list[str]:
    return [branch["$ref"].removeprefix(REF) for branch in schema["oneOf"]
            if _validator(document, branch).is_valid(body)]


# -- 1. the admin's view and the seat holder's are told apart by `role` ----------------------------------------------
SUBSCRIPTION_VIEWS = {
    "oneOf": [{"$ref": REF + "SubscriptionAdminOut"}, {"$ref": REF + "SubscriptionUserOut"}],
    "discriminator": {"propertyName": "role", "mapping": {
        "admin": REF + "SubscriptionAdminOut", "user": REF + "SubscriptionUserOut"}},
}


def test_the_two_views_are_a_oneof_discriminated_by_a_constant_role(document):
    assert answer_schema(document, "/subscriptions/{subscription_id}", "get", 200) == SUBSCRIPTION_VIEWS
    listed = component(document, "SubscriptionListOut")["properties"]["items"]["items"]
    assert listed == SUBSCRIPTION_VIEWS
    admin, user = component(document, "SubscriptionAdminOut"), component(document, "SubscriptionUserOut")
    assert admin["properties"]["role"]["const"] == "admin" and user["properties"]["role"]["const"] == "user"
    assert "role" in admin["required"] and "role" in user["required"]
    # not a subtype: the admin's view does not extend the user's (no allOf), and shares its common fields only
    assert "allOf" not in admin and "allOf" not in user
    assert set(user["properties"]) < set(admin["properties"])
    assert {"license_quantity", "seats_used", "po_number", "order_id"} <= set(admin["required"])
    for path, method in [("/subscriptions/{subscription_id}/activation", "post"),
                         ("/subscriptions/{subscription_id}", "patch")]:
        assert answer_schema(document, path, method, 200) == {"$ref": REF + "SubscriptionAdminOut"}


def test_real_answers_match_exactly_the_branch_of_their_role(client, stack, active, document):
    for email, expected in [(ADMIN, "SubscriptionAdminOut"), (SEAT, "SubscriptionUserOut")]:
        detail = call(client, stack, "GET", f"/subscriptions/{active}", email=email)
        body = assert_valid(document, "/subscriptions/{subscription_id}", "get", detail)
        assert matching_branches(document, SUBSCRIPTION_VIEWS, body) == [expected], email
        listing = assert_valid(document, "/subscriptions", "get", call(client, stack, "GET", "/subscriptions",
                                                                       email=email))
        assert [matching_branches(document, SUBSCRIPTION_VIEWS, item) for item in listing["items"]] == [[expected]]


def test_the_pending_subscription_and_every_admin_answer_validate(client, stack, pending, document):
    body = assert_valid(document, "/subscriptions/{subscription_id}", "get",
                        call(client, stack, "GET", f"/subscriptions/{pending}"))
    assert matching_branches(document, SUBSCRIPTION_VIEWS, body) == ["SubscriptionAdminOut"]
    version = body["agreement"]["version"]
    activated = call(client, stack, "POST", f"/subscriptions/{pending}/activation",
                     {"accept_agreement": True, "agreement_version": version})
    assert_valid(document, "/subscriptions/{subscription_id}/activation", "post", activated)
    steps = [
        ("PATCH", "", "/subscriptions/{subscription_id}", {"po_number": "PO-9"}),
        ("PUT", "/payment-method", "/subscriptions/{subscription_id}/payment-method", {"type": "invoice"}),
        ("POST", "/cancellation", "/subscriptions/{subscription_id}/cancellation", None),
        ("DELETE", "/cancellation", "/subscriptions/{subscription_id}/cancellation", None),
        ("POST", "/users", "/subscriptions/{subscription_id}/users", {"email": SEAT, "name": "Sam Seat"}),
        ("GET", "/users", "/subscriptions/{subscription_id}/users", None),
        ("GET", "/admin-candidates", "/subscriptions/{subscription_id}/admin-candidates", None),
        ("GET", "/agreement", "/subscriptions/{subscription_id}/agreement", None),
        ("GET", "/history", "/subscriptions/{subscription_id}/history", None),
        ("GET", "/invoices", "/subscriptions/{subscription_id}/invoices", None),
    ]
    for method, suffix, path, body_in in steps:
        response = call(client, stack, method, f"/subscriptions/{pending}{suffix}", body_in)
        assert response.status_code < 300, (method, suffix, response.body)
        assert_valid(document, path, method, response)
    entitlements = call(client, stack, "GET", "/me/entitlements", email=SEAT)
    assert_valid(document, "/me/entitlements", "get", entitlements)
    removed = call(client, stack, "DELETE", f"/subscriptions/{pending}/users/{quote(SEAT)}")
    assert removed.status_code == 204


# -- 2. closed lists are enums ---------------------------------------------------------------------------------------
def test_status_payment_type_and_history_action_are_closed_lists(document):
    from chalicelib.domain.access import AUDIT_ACTIONS
    from chalicelib.domain.models import SubscriptionStatus

    assert component(document, "SubscriptionStatus")["enum"] == [s.value for s in SubscriptionStatus]
    for view in ("SubscriptionAdminOut", "SubscriptionUserOut"):
        assert component(document, view)["properties"]["status"] == {"$ref": REF + "SubscriptionStatus"}
    for method in ("PaymentMethodOut", "InvoicePaymentMethodOut"):
        assert component(document, method)["properties"]["type"]["enum"] == ["invoice", "card"]
    events = component(document, "HistoryOut")["properties"]["items"]["items"]
    assert events["discriminator"]["propertyName"] == "action"
    assert set(events["discriminator"]["mapping"]) == set(AUDIT_ACTIONS)
    for action, ref in events["discriminator"]["mapping"].items():
        variant = component(document, ref.removeprefix(REF))
        assert variant["properties"]["action"]["const"] == action
        details = variant["properties"]["details"]
        assert set(details) == {"$ref"}, action  # typed, not `unknown`
        assert component(document, details["$ref"].removeprefix(REF))["properties"], action


def test_a_history_event_of_an_unlisted_action_cannot_be_made():
    from datetime import UTC, datetime

    from chalicelib.domain.access import AuditEvent

    with pytest.raises(ValueError, match="AUDIT_ACTIONS"):
        AuditEvent(subscription_id="s", at=datetime.now(UTC), actor="a@example.fr", action="seat.stolen")


def test_the_history_of_every_administration_step_validates(client, stack, active, document):
    from tests.test_administration import CARD

    for method, suffix, body in [
        ("PUT", "/payment-method", CARD),
        ("PUT", "/payment-method", {"type": "invoice"}),
        ("PATCH", "", {"po_number": None}),
        ("DELETE", f"/users/{quote(SEAT)}", None),
        ("POST", "/admin-transfer", {"email": "next.admin@example.fr", "name": "Next Admin"}),
    ]:
        assert call(client, stack, method, f"/subscriptions/{active}{suffix}", body).status_code < 300, suffix
    history = call(client, stack, "GET", f"/subscriptions/{active}/history", email="next.admin@example.fr")
    body = assert_valid(document, "/subscriptions/{subscription_id}/history", "get", history)
    assert {"payment_method.changed", "po_number.changed", "seat.removed", "admin.transferred",
            "subscription.activated", "seat.assigned"} <= {item["action"] for item in body["items"]}


def _domain_codes() -> set[str]:
    import inspect

    from chalicelib.domain import errors

    return {cls.code for _, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, errors.DomainError) and cls is not errors.DomainError}


def _gateway_response(kind: str) -> str:
    """The JSON template of one of the deployed API's GatewayResponses (infra/resources.json)."""
    from pathlib import Path

    def find(node: Any) -> Any:
        if isinstance(node, dict):
            if "GatewayResponses" in node:
                return node["GatewayResponses"]
            return next((f for f in map(find, node.values()) if f is not None), None)
        return None

    resources = json.loads((Path(__file__).resolve().parent.parent / "infra" / "resources.json").read_text())
    text: str = find(resources)[kind]["ResponseTemplates"]["application/json"]
    return text


def test_the_error_code_enum_is_every_code_the_app_can_emit(client, stack, active, document, monkeypatch):
    """The domain's codes, and those the edge and the framework answer with, each provoked here for real."""
    from chalicelib.services.access import SubscriptionAccess

    bearer = stack.issuer.bearer(ADMIN, "FR")
    listed = json.loads(call(client, stack, "GET", f"/subscriptions/{active}/invoices").body)
    provoked = {
        "wrong method": client.http.request("PUT", "/subscriptions", headers=bearer),
        "wrong content type": call(client, stack, "POST", f"/subscriptions/{active}/cancellation",
                                   **{"Content-Type": "text/plain"}),
        "pdf not accepted": client.http.get(
            f"/subscriptions/{active}/invoices/{listed['items'][0]['id']}/pdf", headers=bearer),
    }

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(SubscriptionAccess, "list_subscriptions", broken)
    provoked["unexpected error"] = client.http.get("/subscriptions", headers=bearer)
    edge = {name: json.loads(response.body)["Code"] for name, response in provoked.items()}
    # an unknown route is answered by API Gateway (and the local stack) with the stack's template, not by the app
    edge["no such route"] = json.loads(_gateway_response("MISSING_AUTHENTICATION_TOKEN"))["Code"]
    assert edge == {"no such route": "NotFoundError", "wrong method": "MethodNotAllowedError",
                    "wrong content type": "UnsupportedMediaType", "pdf not accepted": "BadRequest",
                    "unexpected error": "InternalServerError"}
    assert component(document, "Error")["properties"]["Code"]["enum"] == sorted(_domain_codes() | set(edge.values()))
    assert component(document, "Error")["required"] == ["Code", "Message"]


# -- 3. a key the server may leave out is optional, never null, and has no `default: null` ---------------------------
def _walk(node: Any) -> Any:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from _walk(child)


def test_no_schema_says_a_left_out_key_defaults_to_null_and_optional_keys_are_never_null(document):
    assert not [s for s in _walk(document) if isinstance(s, dict) and "default" in s and s["default"] is None]
    for name, schema in document["components"]["schemas"].items():
        for key, shape in schema.get("properties", {}).items():
            if key not in schema.get("required", []) and not name.endswith("In"):
                assert {"type": "null"} not in shape.get("anyOf", []) and shape.get("type") != "null", (name, key)
    card = component(document, "PaymentMethodOut")
    assert card["required"] == ["type"] and {"brand", "last4", "exp_month", "exp_year"} <= set(card["properties"])
    assert component(document, "InvoicePaymentMethodOut")["required"] == ["type"]


PAYMENT_OPERATIONS = [  # every operation whose answer carries a payment method: (method, suffix, documented path)
    ("GET", "", "/subscriptions/{subscription_id}"),
    ("PATCH", "", "/subscriptions/{subscription_id}"),
    ("POST", "/cancellation", "/subscriptions/{subscription_id}/cancellation"),
    ("DELETE", "/cancellation", "/subscriptions/{subscription_id}/cancellation"),
    ("GET", "/invoices", "/subscriptions/{subscription_id}/invoices"),
    ("GET", "/invoices/{invoice}", "/subscriptions/{subscription_id}/invoices/{invoice_id}"),
]


def _payment_methods(body: Any) -> list[dict[str, Any]]:
    return [node["payment_method"] for node in _walk(body) if isinstance(node, dict) and "payment_method" in node]


@pytest.mark.parametrize("method_in", ["invoice", "card"])
def test_every_answer_carrying_a_payment_method_leaves_out_what_it_lacks(client, stack, active, document, method_in):
    from tests.test_administration import CARD

    body_in = CARD if method_in == "card" else {"type": "invoice"}
    changed = call(client, stack, "PUT", f"/subscriptions/{active}/payment-method", body_in)
    seen = _payment_methods(assert_valid(document, "/subscriptions/{subscription_id}/payment-method", "put", changed))
    listed = json.loads(call(client, stack, "GET", f"/subscriptions/{active}/invoices").body)["items"]
    for method, suffix, path in PAYMENT_OPERATIONS:
        response = call(client, stack, method, f"/subscriptions/{active}{suffix.format(invoice=listed[0]['id'])}",
                        {"po_number": "PO-1"} if method == "PATCH" else None)
        seen += _payment_methods(assert_valid(document, path, method, response))
    listing = call(client, stack, "GET", "/subscriptions")
    seen += _payment_methods(assert_valid(document, "/subscriptions", "get", listing))
    assert len(seen) >= len(PAYMENT_OPERATIONS) + 2
    for shown in seen:
        assert None not in shown.values(), shown
    if method_in == "invoice":
        assert {"type": "invoice"} in seen
    else:
        assert {"type": "card", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030} in seen


@pytest.mark.parametrize("brand", ["visa", None])
def test_an_invoice_paid_by_card_shows_what_the_card_has_and_leaves_out_the_rest(client, stack, document, brand):
    """The invoices above were issued while paying by invoice; this one was issued with a card on file."""
    from chalicelib.domain.billing.json import invoice_to_json
    from chalicelib.domain.models import PaymentMethod
    from tests.test_billing_domain import make_invoice

    card = PaymentMethod(type="card", token="pm_1", brand=brand, last4="4242", exp_month=12, exp_year=2030)
    shown = invoice_to_json(make_invoice(method=card))
    assert shown["payment_method"] == {"type": "card", "last4": "4242", **({"brand": brand} if brand else {})}
    assert _validator(document, {"$ref": REF + "InvoiceOut"}).is_valid(shown)


# -- 4. the server's input rules are in the request schemas, and a 400 points at the field -------------------------
def _request_strings(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every string a client sends: path, query and header parameters, and each string in a request body."""
    found: list[tuple[str, dict[str, Any]]] = []

    def strings(where: str, schema: dict[str, Any]) -> None:
        if "$ref" in schema:
            schema = component(document, schema["$ref"].removeprefix(REF))
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
            strings(where, branch)
        for key, shape in schema.get("properties", {}).items():
            strings(f"{where}.{key}", shape)
        if schema.get("type") == "string":
            found.append((where, schema))

    for path, item in document["paths"].items():
        for method, op in item.items():
            for parameter in op.get("parameters", []):
                strings(f"{method} {path} {parameter['name']}", parameter["schema"])
            for media in op.get("requestBody", {}).get("content", {}).values():
                strings(f"{method} {path} body", media["schema"])
    return found


def test_every_request_side_string_is_bounded(document):
    unbounded = [where for where, s in _request_strings(document) if not {"maxLength", "enum", "const"} & set(s)]
    assert not unbounded
    assert len(_request_strings(document)) > 20


def test_the_request_rules_are_the_servers_constants(document):
    from chalicelib.api.http import SUBSCRIPTION_ID_PATTERN
    from chalicelib.api.pipeline import MAX_CURSOR_LENGTH
    from chalicelib.api.schemas import MAX_AGREEMENT_VERSION_LENGTH
    from chalicelib.domain.validators import EMAIL_PATTERN, MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, MAX_PO_LENGTH

    person = component(document, "PersonIn")["properties"]
    assert person["email"]["pattern"] == EMAIL_PATTERN and person["email"]["maxLength"] == MAX_EMAIL_LENGTH
    assert person["email"]["format"] == "email" and person["name"]["maxLength"] == MAX_NAME_LENGTH == 200
    po = component(document, "PoNumberIn")["properties"]["po_number"]["anyOf"]
    assert po == [{"type": "string", "maxLength": MAX_PO_LENGTH}, {"type": "null"}] and MAX_PO_LENGTH == 35
    version = component(document, "ActivationIn")["properties"]["agreement_version"]
    assert version["maxLength"] == MAX_AGREEMENT_VERSION_LENGTH
    detail = operation(document, "/subscriptions/{subscription_id}", "get")["parameters"][0]["schema"]
    assert detail["pattern"] == SUBSCRIPTION_ID_PATTERN and detail["format"] == "uuid"
    listing = {p["name"]: p["schema"] for p in operation(document, "/subscriptions", "get")["parameters"]}
    assert listing["cursor"]["maxLength"] == MAX_CURSOR_LENGTH


@pytest.mark.parametrize("email", ["a@example.fr", "o'neil+tag@sub.example.co.uk", "a..b@example.fr",
                                   "a@example", "été@example.fr", "a b@example.fr", "a@-x.fr"])
def test_an_email_the_document_allows_the_server_accepts_and_the_other_way(client, stack, active, document, email):
    schema = {"$ref": REF + "PersonIn"}
    allowed = _validator(document, schema).is_valid({"email": email, "name": "A Person"})
    response = call(client, stack, "POST", f"/subscriptions/{active}/users", {"email": email, "name": "A Person"})
    assert (response.status_code == 201) is allowed, (email, response.body)
    if not allowed:
        assert assert_valid(document, "/subscriptions/{subscription_id}/users", "post", response)["Field"] == "/email"


@pytest.mark.parametrize(("method", "suffix", "field", "at_limit", "over_limit"), [
    ("POST", "/users", "/name", {"email": "n@example.fr", "name": "N" * 200},
     {"email": "n@example.fr", "name": "N" * 201}),
    ("PATCH", "", "/po_number", {"po_number": "P" * 35}, {"po_number": "P" * 36}),
    ("POST", "/users", "/surname", None, {"email": "n@example.fr", "name": "N", "surname": "x"}),
])
def test_a_value_over_the_documented_limit_is_a_400_pointing_at_it(
    client, stack, active, document, method, suffix, field, at_limit, over_limit
):
    path = "/subscriptions/{subscription_id}" + suffix
    if at_limit is not None:
        ok = call(client, stack, method, f"/subscriptions/{active}{suffix}", at_limit)
        assert ok.status_code < 300, ok.body
        assert_valid(document, path, method, ok)
        assert _validator(document, operation(document, path, method)["requestBody"]["content"][
            "application/json"]["schema"]).is_valid(at_limit)
    refused = call(client, stack, method, f"/subscriptions/{active}{suffix}", over_limit)
    assert refused.status_code == 400
    body = assert_valid(document, path, method, refused)
    assert body["Field"] == field and body["Code"] == "BadRequestError"
    assert not _validator(document, operation(document, path, method)["requestBody"]["content"][
        "application/json"]["schema"]).is_valid(over_limit)


def test_an_agreement_version_over_its_limit_is_a_400_pointing_at_it(client, stack, pending, document):
    body = {"accept_agreement": True, "agreement_version": "v" * 65}
    refused = call(client, stack, "POST", f"/subscriptions/{pending}/activation", body)
    assert refused.status_code == 400
    assert assert_valid(document, "/subscriptions/{subscription_id}/activation", "post", refused)["Field"] == (
        "/agreement_version")


def test_a_cursor_or_an_if_match_over_its_limit_is_refused(client, stack, active, document):
    from chalicelib.api.pipeline import MAX_CURSOR_LENGTH

    long_cursor = call(client, stack, "GET", f"/subscriptions?cursor={'A' * (MAX_CURSOR_LENGTH + 1)}")
    assert long_cursor.status_code == 400 and "Field" not in body_of(long_cursor)
    assert_valid(document, "/subscriptions", "get", long_cursor)
    stale = call(client, stack, "PATCH", f"/subscriptions/{active}", {"po_number": "PO-2"},
                 **{"If-Match": '"' + "1" * 70 + '"'})
    assert stale.status_code == 412
    assert_valid(document, "/subscriptions/{subscription_id}", "patch", stale)
