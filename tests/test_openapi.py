"""The OpenAPI document (issue 9): generated from the route table, valid OpenAPI 3.1, committed in docs/ without
drift, served at GET /openapi.json; and the authorization matrix every operation of it must answer."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from openapi_spec_validator import validate

from app import ROUTE_TABLE, app
from chalicelib.api.openapi import build_document, render
from chalicelib.api.pipeline import PortalBlueprint, route_table
from tests.support import ADMIN, SEAT, TokenIssuer

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = build_document(ROUTE_TABLE)
OPERATIONS = [
    (path, method, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if operation.get("security", DOCUMENT["security"])
]


def test_the_document_is_valid_openapi_3_1():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1")


def test_the_committed_document_is_the_generated_one():
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render(DOCUMENT), "docs/openapi.json is stale: run `make docs` and commit it"


def test_every_declared_portal_route_is_documented_and_the_developer_routes_are_not():
    documented = {(path, method.upper()) for path, method, _ in OPERATIONS}
    assert documented == {(r.path, r.method) for r in _every_declared_portal_route()}
    declared = {route for route in app.routes}
    assert {path for path, _, _ in OPERATIONS} <= declared
    assert not any(path.startswith("/_dev") for path in DOCUMENT["paths"])


def _every_declared_portal_route():
    """Every `@portal_route` of every portal blueprint in chalicelib/api, whether or not app.py lists its blueprint
    in ROUTE_TABLE: a blueprint left out of the table fails the test above."""
    blueprints = []
    for source in sorted((ROOT / "chalicelib" / "api").glob("*.py")):
        module = importlib.import_module(f"chalicelib.api.{source.stem}")
        blueprints += [value for value in vars(module).values() if isinstance(value, PortalBlueprint)]
    assert blueprints
    return route_table(*blueprints)


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_every_operation_documents_its_errors_in_the_error_shape(path, method, operation):
    responses = operation["responses"]
    assert any(status.startswith("2") for status in responses)
    assert {"401", "413", "415", "429", "500", "503", "default"} <= set(responses)
    if "{subscription_id}" in path:
        assert "404" in responses
    if method in ("post", "put", "patch", "delete"):
        assert {"400", "403", "409"} <= set(responses)
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation["parameters"])
    gateway = {"429", "default"}  # API Gateway's own answers: the same shape, its own open list of codes
    for status, response in responses.items():
        if status >= "400":
            shape = "GatewayError" if status in gateway else "Error"
            assert response["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{shape}"}
    assert operation["tags"] and operation["summary"] and operation["description"]
    if "requestBody" in operation:
        assert "400" in responses


def test_the_document_names_the_bearer_scheme_etag_if_match_and_pagination():
    assert DOCUMENT["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "the ID token of the vendor's identity provider, checked as RFC8725 recommends: RS256 only, "
                       "issuer, audience and expiry"}
    patch = DOCUMENT["paths"]["/subscriptions/{subscription_id}"]["patch"]
    assert "412" in patch["responses"] and any(p["name"] == "If-Match" for p in patch["parameters"])
    assert patch["responses"]["200"]["headers"]["ETag"]["required"] is True
    listing = DOCUMENT["paths"]["/subscriptions"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"limit", "cursor"}
    capabilities = DOCUMENT["components"]["schemas"]["CapabilitiesOut"]
    assert set(capabilities["required"]) == {
        "activate", "manage_users", "transfer_admin", "edit_po_number", "change_payment_method", "cancel",
        "view_invoices"}


def test_get_openapi_json_needs_no_token_and_is_cacheable(client):
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.body) == DOCUMENT
    assert response.headers["Cache-Control"] == "public, max-age=300" and response.headers["ETag"]
    assert response.headers["Content-Type"] == "application/json"


def test_the_cold_start_of_the_list_route_does_not_build_the_document():
    probe = (
        "import sys, app; from chalicelib.api import subscription_routes; "
        "print('chalicelib.api.openapi' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the authorization matrix, generated from the document -----------------------------------------------------------
BODIES = {  # a valid body for each operation that takes one; a new one fails the first test below until added here
    "activate": {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"},
    "assign_user": {"email": "new.user@example.fr", "name": "New User"},
    "transfer_admin": {"email": "next.admin@example.fr", "name": "Next Admin"},
    "patch_subscription": {"po_number": "PO-9"},
    "put_payment_method": {"type": "invoice"},
    "correct_invoice": {"reason": "the buyer's AP needs the new PO", "po_number": "PO-9"},
}
FORGER = TokenIssuer()  # same key id, another key: a forged signature


def test_every_operation_with_a_body_has_one_in_the_matrix():
    assert {op["operationId"] for _, _, op in OPERATIONS if "requestBody" in op} == set(BODIES)


def _callers(stack):
    expired = stack.issuer.token(ADMIN, "FR", iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    return [  # those who change nothing first, the admin last
        ("no token", {}),
        ("expired", {"Authorization": f"Bearer {expired}"}),
        ("forged", {"Authorization": f"Bearer {FORGER.token(ADMIN, 'FR')}"}),
        ("stranger", stack.issuer.bearer("stranger@example.fr", "FR")),
        ("same email other country", stack.issuer.bearer(ADMIN, "DE")),
        ("seat holder", stack.issuer.bearer(SEAT, "FR")),
        ("admin", stack.issuer.bearer(ADMIN, "FR")),
    ]


def _expected(who: str, path: str, operation: dict) -> set[int]:
    documented = {int(s) for s in operation["responses"] if s != "default"}
    success = {s for s in documented if s < 300}
    on_subscription = "{subscription_id}" in path
    if who in ("no token", "expired", "forged"):
        return {401}
    if who in ("stranger", "same email other country"):
        return {404} if on_subscription else success
    if who == "seat holder":
        return {403} if on_subscription and 403 in documented and operation["operationId"] != "get_subscription" \
            else success
    return documented - {401, 403, 404, 413, 415, 429, 500, 503}  # the admin: success or a state error of it


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS])
def test_authorization_matrix(client, stack, active, path, method, operation):
    invoice_id = ""
    if "{invoice_id}" in path:  # the first invoice, issued when `active` was activated
        listed = client.http.get(f"/subscriptions/{active}/invoices", headers=stack.issuer.bearer(ADMIN, "FR"))
        invoice_id = json.loads(listed.body)["items"][0]["id"]
    concrete = path.replace("{subscription_id}", active).replace("{email}", quote(SEAT))
    unknown = path.replace("{subscription_id}", str(uuid.uuid4())).replace("{email}", quote(SEAT))
    concrete, unknown = (p.replace("{invoice_id}", invoice_id) for p in (concrete, unknown))
    body = BODIES.get(operation["operationId"])
    data = json.dumps(body) if body is not None else b""
    for who, auth in _callers(stack):
        headers = {**auth, "Content-Type": "application/json"}
        if "application/pdf" in operation["responses"].get("200", {}).get("content", {}):
            headers["Accept"] = "application/pdf"  # as the frontend does (DESIGN 14.4)
        response = client.http.request(method.upper(), concrete, body=data, headers=headers)
        assert response.status_code in _expected(who, path, operation), (who, response.status_code, response.body)
        assert str(response.status_code) in operation["responses"], (who, response.status_code)
        if who in ("stranger", "same email other country") and "{subscription_id}" in path:
            absent = client.http.request(method.upper(), unknown, body=data, headers=headers)
            assert (absent.status_code, absent.body) == (response.status_code, response.body), who  # no leak


def test_the_readme_points_at_the_contract_in_the_repository_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme and "(docs/README.md)" in readme
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", index):
        assert (ROOT / "docs" / target).is_file(), target
