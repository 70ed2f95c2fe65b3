"""`python -m devstack`: the local stack until Ctrl-C or SIGTERM, its settings from the environment (PORT,
ORDERS_VISIBILITY_TIMEOUT, ORDERS_MAX_RECEIVE_COUNT), and the banner saying where everything is."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading
from types import FrameType

from devstack.server import HOST, LOCAL_VISIBILITY, DevStack, start

DEFAULT_PORT = 8000
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _int_from_env(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SystemExit(f"{name} must be a number from {low} to {high}, not {raw!r}")
    return int(raw)


def _port_from_env() -> int:
    raw = os.environ.get("PORT") or str(DEFAULT_PORT)
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise SystemExit(f"PORT must be a number from 0 to 65535, not {raw!r}")
    return int(raw)


def _banner(stack: DevStack) -> str:
    assert stack.queues is not None and stack.work_queues is not None, "start() creates both"
    lines = [
        "",
        "Subscription portal: local stack running",
        f"  Console (mailbox, tokens, orders, jobs, clock):  {stack.console_url}",
        f"  App and API:                                     {stack.url}  (e.g. {stack.url}/health)",
        f"  Embedded AWS (moto server):                      {stack.moto_url}",
        f"  Orders queue (SQS, consumed like Lambda):        {stack.queues.url}",
        f"  Its dead-letter queue:                           {stack.queues.dead_letter_url}",
        f"  Jobs' work queue (job_worker consumes it):       {stack.work_queues.url}",
    ]
    if stack.demo_order:
        admin = stack.demo_order["admin"]["email"]
        lines.append(f"  Demo order {stack.demo_order['order_id']}: its activation email to {admin} is in the mailbox")
    lines += ["Press Ctrl-C to stop (or send SIGTERM); Ctrl-\\ forces it.", ""]
    return "\n".join(lines)


def _wait_for_stop_signal() -> str:
    """Blocks until SIGINT (Ctrl-C) or SIGTERM; returns the signal's name.

    The signals are blocked in every thread before the stack starts any (threads inherit the mask) and taken here with
    sigwait: a process-directed signal can otherwise land on a server thread, and a main thread blocked on a lock
    would never run its Python handler.
    """
    if hasattr(signal, "sigwait"):
        return signal.Signals(signal.sigwait(STOP_SIGNALS)).name
    stop = threading.Event()  # platforms without sigwait (Windows): a handler and a short-timeout wait

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    while not stop.wait(0.5):
        pass
    return "signal"


def main() -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from chalicelib.observability import configure_logging

    configure_logging()  # the app's lines in JSON from the start, as Lambda writes them (access lines stay text)
    port = _port_from_env()
    if hasattr(signal, "pthread_sigmask"):
        # From here on, Ctrl-C and SIGTERM wait (pending) until _wait_for_stop_signal takes them; every thread the
        # stack starts inherits this mask. A signal during startup stops the stack as soon as it is up.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    stack: DevStack | None = None
    try:
        try:
            stack = start(
                port,
                orders_visibility_timeout_s=_int_from_env("ORDERS_VISIBILITY_TIMEOUT", LOCAL_VISIBILITY, 0, 43200)
                or 0,
                orders_max_receives=_int_from_env("ORDERS_MAX_RECEIVE_COUNT", None, 1, 1000),
            )
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                print(f"Port {port} on {HOST} is in use: stop what runs there or choose another with PORT=...",
                      file=sys.stderr)
                return 1
            raise
        print(_banner(stack), flush=True)
        received = _wait_for_stop_signal()
        print(f"{received}: stopping the local stack...", flush=True)
    except KeyboardInterrupt:
        print("Stopping the local stack...", flush=True)
    finally:
        if stack is not None:
            stack.stop()
    print("Stopped.", flush=True)
    return 0
