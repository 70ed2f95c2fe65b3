"""The session-wide log scan (tests/log_scan.py) is real: it is on the root logger, it sees the app's own records
as the Lambda functions format them, and it catches each kind of secret. The scan's verdict on the whole suite is
given at the session's end (tests/conftest.py, pytest_sessionfinish)."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib import jobs
from tests import log_scan
from tests.log_scan import SCAN
from tests.support import ORDER, Stack, token_of


def test_the_scan_sees_every_app_record_in_json(stack: Stack) -> None:
    assert SCAN in logging.getLogger().handlers
    before = SCAN.scanned
    jobs.receive_order(ORDER)  # logs "sent" and "created" at INFO
    assert SCAN.scanned >= before + 2
    line = SCAN.format(logging.LogRecord("chalicelib.services.intake", logging.INFO, __file__, 1, "hello", None, None))
    assert json.loads(line)["message"] == "hello"


@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        ("open https://abonnements.example.fr/activate/{token} to activate", "activation link"),
        ("token {token} issued", "activation token"),
        ("card 4111 1111 1111 1111 on file", "card number"),
        ('body "card_number": "4111-1111-1111-1111"', "card number"),
        ("secret is " + log_scan.LINK_SECRET, "link secret"),
        ("Authorization: Bearer {jwt}", "bearer token"),
    ],
)
def test_a_planted_secret_would_fail_the_session(stack: Stack, planted: str, kind: str) -> None:
    jobs.receive_order(ORDER)
    token = token_of(stack.sent()[-1])
    jwt = stack.issuer.token("someone@example.fr", "FR")
    count = len(SCAN.leaks)
    logging.getLogger("chalicelib.planted").warning(planted.format(token=token, jwt=jwt))
    try:
        assert len(SCAN.leaks) == count + 1
        assert kind in SCAN.leaks[-1].kinds, SCAN.leaks[-1]
    finally:
        del SCAN.leaks[count:]  # planted on purpose: not a finding


def test_the_redacted_link_and_ordinary_ids_pass() -> None:
    for line in (
        "GET /activate/\u2026 200",
        "subscription 720c9be3-75a3-420e-a8eb-1a0c95004285 order 4500012345 mail c15c7372-a223-5813-a777-dc9f3b3dfd61",
        "subscription 037bb26d-1490-4951-8881-7a1f320de3b9 at 2026-12-01 23:51:48,842+0000",
        "token hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ):
        assert log_scan.leaks_in(line) == [], line
