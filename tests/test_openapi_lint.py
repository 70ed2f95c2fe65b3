"""The document under the linters frontends and security reviews use (issue 17): Redocly CLI's recommended rules and
Spectral's OpenAPI and OWASP rules find no error in docs/openapi.json (the generated document: test_openapi.py). The
rules turned off are in tests/portal_client/redocly.yaml and .spectral.yaml, each with its reason; the warnings kept
are listed below, each with its reason, and a new one fails this test until it is fixed or listed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.test_generated_client import BIN, CLIENT_DIR, NODE_TIMEOUT_S, _node_tool, _npm_ci

DOCUMENT = CLIENT_DIR.parent.parent / "docs" / "openapi.json"
NO_TOKEN = ("/health", "/openapi.json")
NO_INPUT = ("/subscriptions/{subscription_id}", "/subscriptions/{subscription_id}/agreement",
            "/subscriptions/{subscription_id}/invoices/{invoice_id}",
            "/subscriptions/{subscription_id}/invoices/{invoice_id}/xml")
KEPT_WARNINGS = {  # (rule, where) -> why it stays
    **{("owasp:api2:2023-read-restricted", f"paths{path}/get/security"):
       "public by design: liveness for monitors, and the contract for generators" for path in NO_TOKEN},
    **{("owasp:api8:2023-define-error-responses-401", f"paths{path}/get/responses"):
       "no token is asked for, so none can be refused" for path in NO_TOKEN},
    **{("owasp:api8:2023-define-error-validation", f"paths{path}/get/responses"):
       "no body and no query: nothing a client sends can be invalid (a malformed id in the path is the 404 of an "
       "unknown one, which never reveals which ids exist)" for path in NO_TOKEN + NO_INPUT},
    ("request-string-restricted", "paths/{subscription_id}/patch/If-Match"):
        "an entity tag is whatever the server sent in ETag: any other value is a 412, not a 400",
    ("request-string-restricted", "components/schemas/ActivationIn/properties/agreement_version"):
        "compared with the version shown, whatever its spelling: any other value is a 409 naming the current one",
    ("request-string-restricted", "components/schemas/PersonIn/properties/name"):
        "a person's name is free text (the server trims it and refuses control characters)",
    ("request-string-restricted", "components/schemas/PoNumberIn/properties/po_number/anyOf/0"):
        "a purchase order number is the customer's own free text, bounded to 35 characters",
    ("request-string-restricted", "components/schemas/InvoiceCorrectionIn/properties/po_number/anyOf/0"):
        "the corrected purchase order number: the customer's own free text, bounded to 35 characters",
    **{("request-string-restricted", f"components/schemas/CorrectionAddressIn/properties/{where}"):
       "a corrected postal address is free text as intake takes it (trimmed, bounded, printable by the invoice "
       "fonts; the postal code in its country's format, checked by the server)"
       for where in ("lines/items", "city/anyOf/0", "postal_code/anyOf/0")},
    ("request-string-restricted", "components/schemas/InvoiceCorrectionIn/properties/reason"):
        "why the invoice is corrected, in the admin's words: free text for the history and the email",
    ("request-string-restricted", "components/schemas/CorrectionBuyerIn/properties/name"):
        "the buyer's corrected name is free text (trimmed; characters the invoice fonts cannot print are refused)",
    ("request-string-restricted", "components/schemas/CorrectionBuyerIn/properties/vat_id/anyOf/0"):
        "a VAT id as people type it (spaces, dots, hyphens): the server compacts it, then checks its shape",
    ("request-string-restricted", "components/schemas/ElectronicAddressIn/properties/id"):
        "its format depends on `scheme` (a SIREN's Luhn key, a Belgian enterprise number's check digits): checked "
        "by the server per scheme, bounded in length",
}


def _where(rule: str, path: list[str | int]) -> str:
    where = "/".join(map(str, path))
    if where == "paths//subscriptions/{subscription_id}/patch/parameters/2/schema":
        return "paths/{subscription_id}/patch/If-Match"  # by name, not by its position in the list
    return where.replace("paths//", "paths/")


@pytest.fixture(scope="module")
def tools() -> Path:
    _node_tool("node")
    _npm_ci()
    return BIN


def _node(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}
    return subprocess.run(command, cwd=CLIENT_DIR, capture_output=True, text=True, timeout=NODE_TIMEOUT_S, env=env)


def test_redocly_finds_no_error_and_no_warning(tools):
    linted = _node([str(tools / "redocly"), "lint", str(DOCUMENT), "--config", "redocly.yaml", "--format", "json"])
    report = json.loads(linted.stdout)
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, report["problems"]
    assert linted.returncode == 0, linted.stderr


@pytest.fixture(scope="module")
def spectral(tools, tmp_path_factory) -> dict[str, list[dict]]:
    """One Spectral run (its start-up is most of its time) over the document and a copy with one request string
    left unbounded: the findings of each, by file."""
    document = json.loads(DOCUMENT.read_text())
    del document["components"]["schemas"]["PersonIn"]["properties"]["name"]["maxLength"]
    loosened = tmp_path_factory.mktemp("lint") / "loosened.json"
    loosened.write_text(json.dumps(document))
    linted = _node([str(tools / "spectral"), "lint", str(DOCUMENT), str(loosened), "--ruleset", ".spectral.yaml",
                    "--format", "json", "--quiet"])
    findings = json.loads(linted.stdout or "[]")
    assert linted.returncode in (0, 1), linted.stderr  # 1: the loosened copy's error
    return {name: [f for f in findings if Path(f["source"]).name == name] for name in ("openapi.json", "loosened.json")}


def test_spectral_oas_and_owasp_find_no_error_and_only_the_warnings_kept_for_a_reason(spectral):
    findings = spectral["openapi.json"]
    errors = [(f["code"], _where(f["code"], f["path"]), f["message"]) for f in findings if f["severity"] == 0]
    assert not errors, errors
    warnings = {(f["code"], _where(f["code"], f["path"])) for f in findings if f["severity"] == 1}
    kept = set(KEPT_WARNINGS)
    assert warnings == kept, {"new": sorted(warnings - kept), "gone": sorted(kept - warnings)}


def test_the_owasp_size_rules_still_bite_on_what_a_client_sends(spectral):
    """The request-side copies of OWASP's size rules are not vacuous: an unbounded request string is an error."""
    found = {(f["code"], _where(f["code"], f["path"])) for f in spectral["loosened.json"] if f["severity"] == 0}
    assert found == {("request-string-limit", "components/schemas/PersonIn/properties/name")}
