"""A running local stack (`python -m devstack`) for the whole test session, and stdlib HTTP helpers to drive it.

The stack runs in its own process on purpose: it owns process-wide state (moto's backends, which every in-process
`mock_aws` resets; the installed Container; AWS_ENDPOINT_URL in os.environ; the /_dev blueprint on the app singleton),
so it can neither disturb nor be disturbed by the in-process tests of the same session. Use it with

    pytest_plugins = ["tests.devstack_fixture"]  # in the test module; then ask for the `devstack` fixture

and give every test its own order ids and email addresses: the stack is shared.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from devstack.sample import SAMPLE_ORDER

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
ACTIVATION_LINK = re.compile(r"http://127\.0\.0\.1:\d+/activate/[A-Za-z0-9_-]{43}")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def new_order(email: str | None = None, ordered_at: datetime | None = None, **changes: Any) -> dict[str, Any]:
    """The DESIGN sample order with a fresh order id, a fresh admin address and ordered a minute ago (real time)."""
    order = copy.deepcopy(SAMPLE_ORDER)
    order["order_id"] = unique("T").upper()
    order["ordered_at"] = iso(ordered_at or datetime.now(UTC) - timedelta(minutes=1))
    order["admin"] = {"email": email or f"{unique('admin')}@example.fr", "name": "Test Admin"}
    order.update(changes)
    return order


@dataclass
class HttpResult:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30.0
) -> HttpResult:
    """One request with urllib; any status comes back as a result (no exception for 4xx/5xx)."""
    data: bytes | None
    headers = dict(headers or {})
    if body is None:
        data = None
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return HttpResult(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpResult(error.code, error.headers, error.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@dataclass
class DevstackProcess:
    """`python -m devstack` running in a child process, with its output in a log file."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _log_file: Any = field(repr=False, default=None)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def moto_url(self) -> str | None:
        match = re.search(r"Embedded AWS \(moto server\):\s+(http://\S+)", self.log())
        return match.group(1) if match else None

    def wait_until_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"python -m devstack exited with {self.process.returncode}:\n{self.log()}")
            try:
                if http("GET", f"{self.url}/health", timeout=2.0).status == 200 and self.moto_url:
                    return
            except OSError:
                pass
            time.sleep(0.05)  # bounded poll: waiting for a port to start answering
        self.kill()
        raise AssertionError(f"python -m devstack did not answer /health within {timeout_s:.0f}s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Sends the signal and waits for the process to exit; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"python -m devstack did not exit within {timeout_s:.0f}s of signal {sig}; "
                f"it was killed. Its output:\n{self.log()}"
            ) from None
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # ---- helpers over the /_dev routes and the app

    def get(self, path: str, **kwargs: Any) -> HttpResult:
        return http("GET", self.url + path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> HttpResult:
        return http("POST", self.url + path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResult:
        return http("DELETE", self.url + path, **kwargs)

    def post_order(self, order: dict[str, Any]) -> HttpResult:
        return self.post("/_dev/orders", order)

    def mailbox(self, to: str) -> list[dict[str, Any]]:
        result = self.get(f"/_dev/mailbox?to={urllib.request.quote(to)}")
        assert result.status == 200, result.text
        messages: list[dict[str, Any]] = result.json()["messages"]
        return messages

    def activation_link(self, to: str) -> str:
        messages = self.mailbox(to)
        assert messages, f"no mail to {to}"
        match = ACTIVATION_LINK.search(messages[-1]["text"])
        assert match, f"no activation link in the text part:\n{messages[-1]['text']}"
        link = match.group(0)
        assert link.startswith(self.url + "/activate/"), link
        return link

    def token(self, email: str, country: str, name: str | None = None) -> str:
        body = {"email": email, "country": country, **({"name": name} if name else {})}
        result = self.post("/_dev/tokens", body)
        assert result.status == 200, result.text
        token: str = result.json()["token"]
        return token

    def aws(self) -> dict[str, str]:
        result = self.get("/_dev/aws")
        assert result.status == 200, result.text
        aws: dict[str, str] = result.json()
        return aws

    def sqs(self) -> Any:
        """A boto3 SQS client on the stack's embedded AWS, as the order system's team would make one."""
        import boto3

        aws = self.aws()
        return boto3.session.Session().client("sqs", endpoint_url=aws["endpoint_url"], region_name=aws["region"],
                                               aws_access_key_id="order-system", aws_secret_access_key="local")

    def bearer(self, email: str, country: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(email, country)}"}


def until(condition: Any, timeout_s: float = 20.0, what: str = "the condition") -> Any:
    """Polls a real server process (never in-process code) until `condition()` is truthy; bounded."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:.0f}s")
        time.sleep(0.1)  # bounded poll of another process


def launch(log_dir: Path, port: int | None = None) -> DevstackProcess:
    """Starts `python -m devstack` on a free port and waits until it answers."""
    port = port or free_port()
    log_path = log_dir / f"devstack-{port}.log"
    log_file = log_path.open("wb")
    # A failed order message is retried after 1 s and dead-lettered on its 3rd receive: no test waits long.
    env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1", "ORDERS_VISIBILITY_TIMEOUT": "1",
           "ORDERS_MAX_RECEIVE_COUNT": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    stack = DevstackProcess(port=port, process=process, log_path=log_path, _log_file=log_file)
    try:
        stack.wait_until_ready()
    except BaseException:
        stack.kill()
        raise
    return stack


@pytest.fixture(scope="session")
def devstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevstackProcess]:
    """One local stack for the whole session, stopped like a developer's Ctrl-C would (here SIGTERM) at the end."""
    stack = launch(tmp_path_factory.mktemp("devstack"))
    try:
        yield stack
    finally:
        code = stack.stop(signal.SIGTERM)
        assert code == 0, f"python -m devstack exited with {code} on SIGTERM:\n{stack.log()}"
