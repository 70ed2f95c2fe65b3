"""A frontend built on the contract (issue 17): the TypeScript client generated from the local stack's GET /openapi.json
(openapi-typescript 7, openapi-fetch), a small typed portal module (tests/portal_client/portal.ts) compiled against
it with `tsc --strict` (0 errors), then run against the local stack, every step asserting what a person would see.
Every answer it received is then checked here against the document: its status is one the operation lists by code
(not only through `default`), its body validates against that status's schema, its content type is the documented
one, and a browser on the portal's origin may read the headers the portal needs (ETag, Content-Disposition).

Compiled once per session. The packages are the lock file's (`npm ci`, which `make test` runs; run here if missing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

pytest.register_assert_rewrite("tests.devstack_fixture")
from tests.devstack_fixture import DevstackProcess, new_order  # noqa: E402

pytest_plugins = ["tests.devstack_fixture"]

CLIENT_DIR = Path(__file__).resolve().parent / "portal_client"
BIN = CLIENT_DIR / "node_modules" / ".bin"
STEPS = 25  # the `run(...)` steps of portal.ts
NODE_TIMEOUT_S = 300


def _node_tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: install Node.js 20+ and npm (Debian: apt-get install nodejs npm)"
    return found


def _npm_ci() -> None:
    """The lock file's packages, installed once (make test runs `npm ci` before the suite)."""
    if (CLIENT_DIR / "node_modules" / ".package-lock.json").is_file():
        return
    subprocess.run([_node_tool("npm"), "ci", "--no-audit", "--no-fund"], cwd=CLIENT_DIR, check=True,
                   timeout=NODE_TIMEOUT_S, capture_output=True)


def _run(command: list[str], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=NODE_TIMEOUT_S, **kwargs)


@pytest.fixture(scope="session")
def compiled_portal(devstack: DevstackProcess) -> Iterator[Path]:
    """openapi-typescript on the served document, then tsc --strict on portal.ts beside it: the compiled module."""
    _node_tool("node")
    _npm_ci()
    build = CLIENT_DIR / "build" / uuid.uuid4().hex[:12]  # one per session: parallel sessions never share one
    (build / "src").mkdir(parents=True)
    served = build / "openapi.json"
    served.write_bytes(devstack.get("/openapi.json").body)
    generated = _run([str(BIN / "openapi-typescript"), str(served), "-o", str(build / "src" / "api.ts")], CLIENT_DIR)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    shutil.copy(CLIENT_DIR / "portal.ts", build / "src" / "portal.ts")
    (build / "tsconfig.json").write_text(json.dumps({
        "extends": "../../tsconfig.json", "compilerOptions": {"outDir": "out", "rootDir": "src"},
        "files": ["src/portal.ts"]}))
    compiled = _run([str(BIN / "tsc"), "-p", str(build / "tsconfig.json"), "--pretty", "false"], CLIENT_DIR)
    assert compiled.returncode == 0, f"tsc --strict found errors:\n{compiled.stdout}{compiled.stderr}"
    try:
        yield build
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _subscription(devstack: DevstackProcess, admin: str, *, activated: bool) -> str:
    created = devstack.post_order(new_order(email=admin))
    assert created.status == 201, created.text
    subscription_id: str = created.json()["subscription_id"]
    if activated:
        auth = devstack.bearer(admin, "FR")
        detail = devstack.get(f"/subscriptions/{subscription_id}", headers=auth).json()
        body = {"accept_agreement": True, "agreement_version": detail["agreement"]["version"]}
        assert devstack.post(f"/subscriptions/{subscription_id}/activation", body, headers=auth).status == 200
    return subscription_id


@pytest.fixture(scope="session")
def portal_run(devstack: DevstackProcess, compiled_portal: Path) -> dict[str, Any]:
    admin, seat = f"ts.admin.{uuid.uuid4().hex[:8]}@example.fr", f"ts.seat.{uuid.uuid4().hex[:8]}@example.fr"
    active = _subscription(devstack, admin, activated=True)
    given = devstack.post(f"/subscriptions/{active}/users", {"email": seat, "name": "Seat Holder"},
                          headers=devstack.bearer(admin, "FR"))
    assert given.status == 201, given.text
    record = compiled_portal / "record.json"
    env = {
        **os.environ, "PORTAL_BASE_URL": devstack.url, "ADMIN_TOKEN": devstack.token(admin, "FR"),
        "SEAT_TOKEN": devstack.token(seat, "FR"), "ACTIVE_ID": active, "SEAT_EMAIL": seat,
        "PENDING_ID": _subscription(devstack, admin, activated=False),
        "TRANSFER_ID": _subscription(devstack, admin, activated=True), "RECORD_PATH": str(record),
    }
    ran = _run([_node_tool("node"), str(compiled_portal / "out" / "portal.js")], compiled_portal, env=env)
    result: dict[str, Any] = json.loads(record.read_text()) if record.is_file() else {}
    assert ran.returncode == 0 and "failure" not in result, (result.get("failure"), ran.stderr[-4000:])
    result["document"] = json.loads((compiled_portal / "openapi.json").read_text())
    return result


def test_the_portal_compiles_against_the_generated_client_and_every_step_passes(portal_run):
    assert portal_run["passed"] == STEPS
    assert len(portal_run["recorded"]) >= STEPS


def _operation(document: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][answer["path"]][answer["method"].lower()]
    return operation


def test_every_answer_has_a_status_its_operation_lists_by_code(portal_run):
    seen = set()
    for answer in portal_run["recorded"]:
        responses = _operation(portal_run["document"], answer)["responses"]
        assert str(answer["status"]) in responses, (answer["step"], answer["path"], answer["status"])
        seen.add(answer["status"])
    assert {200, 201, 202, 204, 400, 403, 404, 412} <= seen  # the run met success and the errors a form handles


def test_every_answer_body_validates_against_the_document(portal_run):
    document = portal_run["document"]
    for answer in portal_run["recorded"]:
        documented = _operation(document, answer)["responses"][str(answer["status"])]
        content = documented.get("content", {})
        if not content:
            assert answer["bytes"] == 0, (answer["step"], answer["status"])
            continue
        (media_type, spec), = content.items()
        assert (answer["contentType"] or "").split(";")[0] == media_type, (answer["step"], answer["contentType"])
        if media_type != "application/json":
            assert spec["schema"]["format"] == "binary" and answer["bytes"] > 0, answer["step"]
            continue
        validator = Draft202012Validator({**spec["schema"], "components": document["components"]},
                                         format_checker=FormatChecker())
        errors = validator.iter_errors(answer["body"])
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
        assert not problems, (answer["step"], answer["path"], answer["status"], problems)


def test_a_browser_on_the_portal_origin_may_read_the_headers_the_portal_needs(portal_run):
    for answer in portal_run["recorded"]:
        exposed = {name.strip().lower() for name in (answer["exposed"] or "").split(",")}
        assert {"etag", "idempotent-replayed", "content-disposition"} <= exposed, (answer["step"], answer["exposed"])
