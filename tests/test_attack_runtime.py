"""Regression tests for runtime defects found in review (CORS, malformed work, cursors, headers, devstack)."""

from __future__ import annotations

import json

PORTAL = "https://portal.example.com"


def _exposed(response) -> set[str]:
    value = response.headers.get("Access-Control-Expose-Headers", "")
    return {name.strip().lower() for name in value.split(",") if name.strip()}


def test_actual_portal_answers_expose_etag_to_the_portal_origin(client, stack, pending):
    """Browsers read Expose-Headers from the actual answer, not the preflight: else the portal cannot read ETag."""
    response = client.http.get(
        f"/subscriptions/{pending}", headers={**stack.issuer.bearer("marie.dupont@example.fr", "FR"), "Origin": PORTAL}
    )
    assert response.status_code == 200 and response.headers["ETag"]
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert {"etag", "idempotent-replayed", "content-disposition"} <= _exposed(response)


def test_error_answers_expose_headers_too(client):
    response = client.http.get("/subscriptions", headers={"Origin": PORTAL})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "etag" in _exposed(response)
    assert json.loads(response.body)["Code"] == "UnauthorizedError"
