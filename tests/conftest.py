from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.adapters.clock import FixedClock
from chalicelib.container import Container, use_container
from tests.support import (
    ADMIN,
    NOW,
    ORDER,
    REGION,
    SEAT,
    Stack,
    activate,
    as_admin,
    provision,
    shared_issuer,
    shared_session,
)

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"


def pytest_configure(config: pytest.Config) -> None:
    # The local stack's moto: serialized DynamoDB, no model tracking, transactions rolled back by an undo log
    # (moto's own rollback deep-copies every touched table on every transaction).
    from devstack import moto_lock

    moto_lock.install()
    from tests import log_scan

    log_scan.install()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with mock_aws():
        env, ddb = provision(tmp_path)
        clock = FixedClock(NOW)
        container = Container(env, clock=clock, session=shared_session())
        use_container(container)
        try:
            yield Stack(container=container, clock=clock, issuer=shared_issuer(), ddb=ddb)
        finally:
            use_container(None)


@pytest.fixture
def client(stack: Stack) -> Iterator[Client]:
    with Client(app, stage_name="dev") as test_client:
        yield test_client


@pytest.fixture
def pending(stack: Stack) -> str:
    """The sample order's subscription, waiting for activation."""
    from chalicelib import jobs

    return jobs.receive_order(ORDER).subscription_id


@pytest.fixture
def active(stack: Stack, pending: str) -> str:
    """The sample subscription, activated, with one seat held by SEAT."""
    from chalicelib.domain.models import Person

    activate(stack, pending)
    c = stack.container
    c.administration.assign_seat(as_admin(c, ADMIN, pending), Person(email=SEAT, name="Sam Seat"))
    return pending


@pytest.fixture
def emf(stack: Stack) -> Any:
    """The metrics the stack writes (EMF lines), parsed: tests/emf.py."""
    from tests.emf import recording

    return recording(stack)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    from tests.log_scan import SCAN

    SCAN.current_test = item.nodeid
    try:
        return (yield)
    finally:
        SCAN.current_test = "(outside a test)"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The session fails when any log line carried a token, a link, a card number, the link secret or a bearer."""
    from tests.log_scan import SCAN

    if SCAN.leaks:
        import sys

        sys.stderr.write(f"\n{len(SCAN.leaks)} log line(s) of {SCAN.scanned} leaked what must never be logged:\n")
        for leak in SCAN.leaks[:20]:
            sys.stderr.write(f"- {leak.test}: {', '.join(leak.kinds)}: {leak.line}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
