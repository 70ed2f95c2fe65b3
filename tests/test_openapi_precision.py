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
