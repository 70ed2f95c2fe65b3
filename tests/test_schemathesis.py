"""Schemathesis against the local stack (issue 9): every operation of GET /openapi.json, with a bearer token from the
local issuer, under the checks below, then a stateful phase following the document's links (list -> detail -> every
operation on it; a new seat -> its removal). Zero failures, a fixed seed, a bounded number of cases.

Each operation works on a subscription in the state it needs: the activation routes on a pending one, the admin
transfer on its own active one (a transfer to a generated person would take the others away from the token's owner),
everything else on an active one with a seat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.devstack_fixture")  # before the import below: readable failures
from tests.devstack_fixture import PROJECT_DIR, DevstackProcess, new_order  # noqa: E402

pytest_plugins = ["tests.devstack_fixture"]

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "response_headers_conformance,ignored_auth,status_listed_by_code"
)  # the last is ours (tests/schemathesis_hooks.py): no status the operation does not list by code
SEED = 20261126
MAX_EXAMPLES = 5
MAX_STEPS = 25


def _subscription(devstack: DevstackProcess, admin: str, *, activated: bool) -> str:
    created = devstack.post_order(new_order(email=admin))
    assert created.status == 201, created.text
    subscription_id: str = created.json()["subscription_id"]
    if activated:
        auth = devstack.bearer(admin, "FR")
        detail = devstack.get(f"/subscriptions/{subscription_id}", headers=auth).json()
        body = {"accept_agreement": True, "agreement_version": detail["agreement"]["version"]}
        done = devstack.post(f"/subscriptions/{subscription_id}/activation", body, headers=auth)
        assert done.status == 200, done.text
    return subscription_id


def _config(devstack: DevstackProcess, admin: str) -> str:
    active = _subscription(devstack, admin, activated=True)
    seat = devstack.post(f"/subscriptions/{active}/users", {"email": "seat.holder@example.fr", "name": "Seat Holder"},
                         headers=devstack.bearer(admin, "FR"))
    assert seat.status == 201, seat.text
    pending = _subscription(devstack, admin, activated=False)
    transferred = _subscription(devstack, admin, activated=True)
    return "\n".join([
        f"seed = {SEED}",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "[phases.stateful]",
        f"max-steps = {MAX_STEPS}",
        "[parameters]",
        f'"path.subscription_id" = "{active}"',
        "[[operations]]",
        'include-operation-id-regex = "^(activate|resend_activation_email)$"',
        f'parameters = {{ "path.subscription_id" = "{pending}" }}',
        "[[operations]]",
        'include-operation-id = "transfer_admin"',
        f'parameters = {{ "path.subscription_id" = "{transferred}" }}',
        "",
    ])


def test_schemathesis_finds_nothing(devstack: DevstackProcess, tmp_path: Path) -> None:
    admin = "schemathesis.admin@example.fr"
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(devstack, admin))
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", f"{devstack.url}/openapi.json",
        "--url", devstack.url,  # the document's servers name a deployed stage
        "--checks", CHECKS, "--phases", "examples,coverage,fuzzing,stateful", "--workers", "1",
        "--header", f"Authorization: Bearer {devstack.token(admin, 'FR')}",
        "--report", "json", "--report-json-path", str(report), "--request-timeout", "20", "--no-color",
    ]
    # in tmp_path: schemathesis keeps a cache of earlier crashes in its working directory, which would replay them
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(PROJECT_DIR)}
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    result = json.loads(report.read_text())
    document = devstack.get("/openapi.json").json()
    # every operation but GET /openapi.json itself: schemathesis loads the document from there and tests the others
    documented = sum(len(item) for item in document["paths"].values()) - 1
    assert result["operations"]["total"] == result["operations"]["tested"] == documented, result["operations"]
    assert result["test_cases"]["with_failures"] == 0 and not result["failures"] and not result["errors"]
    phases = result["phases"]
    assert all(phases[p]["status"] == "success" for p in ("coverage", "fuzzing", "stateful")), phases
    print(f"\nschemathesis: {documented} operations, {result['test_cases']['generated']} cases, 0 failures "
          f"(seed {SEED}, {result['running_time']:.0f} s)")
