"""The local stack runner: embedded AWS (moto server), the Chalice app on chalice's local server, the scheduled jobs,
a local token issuer and the /_dev routes, all in one process.

    python -m devstack            # PORT (default 8000) on 127.0.0.1; Ctrl-C stops everything

From Python (tests, scripts): `stack = start(port=0)` returns a running `DevStack` (`.url`, `.stop()`).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.adapters.clock import SettableClock
from chalicelib.container import Container, use_container
from devstack import queues as sqs_queues

log = logging.getLogger("devstack")

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
REGION = "eu-west-1"
PROJECT_DIR = Path(__file__).resolve().parent.parent
TABLE_NAME = "subscription-portal-local"
INVOICE_BUCKET_NAME = "subscription-portal-invoices-local"
SENDER_EMAIL = "no-reply@vendor.example"
VENDOR_NAME = "Example Software"
JWT_AUDIENCE = "local-portal"
COUNTRY_CLAIM = "country"
LINK_SECRET_NAME = "subscription-portal/link-secret"
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
OUTBOX_EVERY_S = 60.0  # app.py: deliver_outbox, Rate(1, MINUTES)
CLEANUP_EVERY_S = 3600.0  # app.py: cleanup_unactivated, Rate(1, HOURS)
DAILY_S = 86400.0  # app.py: send_reminders, process_renewals, daily Cron (the console's buttons run them at once)
LOCAL_VISIBILITY = sqs_queues.LOCAL_VISIBILITY_TIMEOUT_S

# Whatever the developer's shell says about AWS, the stack talks to its own moto only.
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "devstack",
    "AWS_SECRET_ACCESS_KEY": "devstack",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
_AWS_ENV_REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")

_running_lock = threading.Lock()
_running: DevStack | None = None


def local_env(port: int, jwks_url: str, secret_arn: str, work_queue_url: str) -> dict[str, str]:
    """The app's configuration for the local stack. The portal SPA is not part of this project: its links land on the
    console."""
    from devstack.app_env import app_env

    base = f"http://{HOST}:{port}"
    return app_env(
        table=TABLE_NAME,
        region=REGION,
        sender=SENDER_EMAIL,
        vendor=VENDOR_NAME,
        sites={"default": {"activation": base, "portal": f"{base}/_dev/"}},
        portal_origin=base,
        issuer=f"{base}/_dev/issuer",
        audience=JWT_AUDIENCE,
        jwks_url=jwks_url,
        country_claim=COUNTRY_CLAIM,
        link_secret_arn=secret_arn,
        invoice_bucket=INVOICE_BUCKET_NAME,
        WORK_QUEUE_URL=work_queue_url,
    )


class LocalContainer(Container):
    """The app's Container, remembering the AWS clients it built so that stopping the stack closes their connections
    (moto's handler threads then end too)."""

    def __init__(self, env: dict[str, str], clock: SettableClock) -> None:
        super().__init__(env, clock=clock)
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()

    def _client(self, service: str) -> Any:
        client = super()._client(service)
        with self._clients_lock:
            self._clients.append(client)
        return client

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            _close_client(client)


def _close_client(client: Any) -> None:
    try:
        client.close()
    except Exception:  # closing is best effort
        log.debug("closing a boto3 client failed", exc_info=True)


# ------------------------------------------------------------------------------------------------------- HTTP server

_ACTIVATION_TOKEN = re.compile(r"(/activate/)[^\s?#/\"'\\]+", re.IGNORECASE)
_QUERY_STRING = re.compile(r"\?[^\s\"'\\]*")


def redact(line: str) -> str:
    """A log line without activation tokens (invariant 5: never logged) and without query strings (a developer's curl
    can carry anything there, card numbers included)."""
    return _QUERY_STRING.sub("", _ACTIVATION_TOKEN.sub("\\1\u2026", line))


def _gateway_handler_class() -> Any:
    """chalice's request handler, answering what API Gateway answers itself as the stack's GatewayResponses shape it
    (infra/resources.json): an unknown route or method is the API's JSON 404, not chalice local's bare 403."""
    from chalice import local

    class Handler(local.ChaliceRequestHandler):  # type: ignore[misc]
        def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
            self.local_gateway = api_gateway_class()(app_object, config)
            local.BaseHTTPRequestHandler.__init__(self, request, client_address, server)

        def __getattr__(self, name: str) -> Any:
            """Any other method (TRACE, PROPFIND, ...) goes to the gateway too, which answers it like API Gateway
            (the API's JSON 404), where http.server would answer its own HTML 501."""
            if name.startswith("do_") and name[3:].isalpha():
                return self._generic_handle
            raise AttributeError(name)

        def _generic_handle(self) -> None:
            """A Content-Length that is not a number of bytes gets API Gateway's 400, not a dropped connection
            (chalice's handler would raise on it and answer nothing); the body cannot be framed, so the connection
            closes after the answer."""
            length = (self.headers.get("content-length") or "0").strip()
            if length.isascii() and length.isdigit():
                super()._generic_handle()
                return
            from chalicelib.api.http import api_headers
            from chalicelib.domain.errors import InvalidInput

            body = json.dumps({"Code": InvalidInput.code, "Message": "The Content-Length header is not a number."})
            self.close_connection = True
            self.send_response(400)
            for name, value in {**api_headers(), "Content-Length": str(len(body)), "Connection": "close"}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            """The access log line without the query string or an activation token (http.server logs both)."""
            # A request line http.server refused leaves no command or path: the status alone is logged.
            command, path = getattr(self, "command", None) or "-", getattr(self, "path", None) or "-"
            sys.stderr.write(f"{command} {loggable_path(path)} {getattr(code, 'value', code)}\n")

        def log_message(self, format: str, *args: Any) -> None:
            """Every other line http.server writes (errors, a malformed request line quoted raw), redacted."""
            sys.stderr.write(
                redact(f"{self.address_string()} - - [{self.log_date_time_string()}] {format % args}") + "\n"
            )

    return Handler


def loggable_path(path: str) -> str:
    """A request path for the access log: redacted like every other line, and without its fragment."""
    return redact(path.split("#", 1)[0])


@functools.cache
def api_gateway_class() -> Any:
    """chalice's LocalGateway (built on first use: chalice.local is not imported with this module)."""
    from chalice import local

    class Gateway(local.LocalGateway):  # type: ignore[misc]
        def handle_request(self, method: str, path: str, headers: Any, body: Any) -> Any:
            try:
                return super().handle_request(method, path, headers, body)
            except local.ForbiddenError:  # no route (this app has no authorizers, the other source of it)
                from chalicelib.api.http import NO_SUCH_ROUTE, api_headers

                return {
                    "statusCode": 404,
                    "headers": api_headers(),
                    "multiValueHeaders": {},
                    "body": json.dumps(NO_SUCH_ROUTE),
                }

    return Gateway


def _stoppable_server_class() -> Any:
    from chalice.local import ThreadedHTTPServer

    class StoppableHTTPServer(ThreadedHTTPServer):  # type: ignore[misc]
        """chalice's threaded server, plus: stop() also ends the keep-alive connections browsers hold open, and waits
        for their handler threads, so nothing keeps serving after the stack stopped."""

        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128  # the socketserver default (5) resets a burst of parallel requests

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._connections: dict[Any, threading.Thread] = {}
            self._connections_lock = threading.Lock()
            super().__init__(*args, **kwargs)

        def process_request(self, request: Any, client_address: Any) -> None:
            thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                      name="devstack-http-request", daemon=True)
            with self._connections_lock:
                self._connections[request] = thread
            thread.start()

        def shutdown_request(self, request: Any) -> None:
            with self._connections_lock:
                self._connections.pop(request, None)
            super().shutdown_request(request)

        def close_connections(self, timeout_s: float = 10.0) -> None:
            with self._connections_lock:
                open_now = list(self._connections.items())
            for connection, _ in open_now:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)  # a handler blocked reading the next request sees EOF
            for _, thread in open_now:
                if thread is not threading.current_thread():
                    thread.join(timeout_s)

    return StoppableHTTPServer


def _chalice_config() -> Any:
    from chalice.cli import CLIFactory

    # The stage's environment_variables stay unused: the app reads its settings only from the installed Container.
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    return factory.create_config_obj(chalice_stage_name="dev")


def _register_dev_routes(app: Any) -> None:
    """Adds the /_dev blueprint to the app singleton, once per process."""
    from devstack.routes import URL_PREFIX, dev

    with _running_lock:
        if f"{URL_PREFIX}/orders" not in app.routes:
            app.register_blueprint(dev, url_prefix=URL_PREFIX)


def _local_server(app: Any, config: Any, port: int) -> Any:
    """chalice.local.create_local_server, minus two limits: it may run only once per process (it swaps the app's
    class for one with a thread-local current_request, and a second swap would make that class its own base), and it
    cannot be given a server class (ours can be stopped completely)."""
    from chalice import local

    with _running_lock:
        if not isinstance(app, local.LocalChalice):
            local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
            app.__class__ = local.CustomLocalChalice
    return local.LocalDevServer(
        app, config, HOST, port, handler_cls=_gateway_handler_class(), server_cls=_stoppable_server_class()
    )


class _Http:
    def __init__(self, app: Any, port: int) -> None:
        self.local_server = _local_server(app, _chalice_config(), port)  # binds and listens now
        self.httpd = self.local_server.server
        self.port: int = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="devstack-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()  # serve_forever returns; no new connections are accepted
            self._thread.join()
            self._thread = None
        self.httpd.close_connections()
        self.httpd.server_close()  # the port refuses connections from now on


# ---------------------------------------------------------------------------------------------------------- the stack


@dataclass
class DevStack:
    """A running local stack. `stop()` ends everything it started; it is idempotent."""

    port: int = 0
    moto_url: str = ""
    clock: SettableClock = field(default_factory=SettableClock)
    container: LocalContainer | None = None
    issuer: Any = None
    demo_order: dict[str, Any] | None = None
    _moto: Any = None
    _http: _Http | None = None
    _scheduler: Any = None
    queues: Any = None
    work_queues: Any = None
    _orders_consumer: Any = None
    _work_consumer: Any = None
    _sqs: Any = None
    _tmpdir: Path | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _saved_debug: bool | None = None
    _stopped: bool = False
    _threads_before: set[threading.Thread] = field(default_factory=lambda: set(threading.enumerate()))

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def console_url(self) -> str:
        return f"{self.url}/_dev/"

    def __enter__(self) -> DevStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        global _running
        with _running_lock:
            if self._stopped:
                return
            self._stopped = True
        # Order: no new work (scheduler, HTTP), then the app's wiring, then AWS, then the environment.
        steps = [
            ("scheduler", lambda: self._scheduler.stop() if self._scheduler else None),
            ("orders consumer", lambda: self._orders_consumer.stop() if self._orders_consumer else None),
            ("work consumer", lambda: self._work_consumer.stop() if self._work_consumer else None),
            ("queue client", lambda: _close_client(self._sqs) if self._sqs else None),
            ("http server", lambda: self._http.stop() if self._http else None),
            ("dev routes", _unbind_routes),
            ("container", self._drop_container),
            ("moto server", lambda: self._moto.stop() if self._moto else None),
            ("temporary files", lambda: shutil.rmtree(self._tmpdir, ignore_errors=True) if self._tmpdir else None),
            ("environment", self._restore_env),
            ("threads", self._join_threads),
        ]
        for what, step in steps:
            try:
                step()
            except Exception:
                log.exception("stopping the %s failed", what)
        with _running_lock:
            if _running is self:
                _running = None
        log.info("local stack stopped")

    def _drop_container(self) -> None:
        if self.container is not None:
            use_container(None)
            self.container.close()

    def _join_threads(self, timeout_s: float = 5.0) -> None:
        """Waits (bounded) for the server threads the stack started: moto's handlers end once the clients closed."""
        import time

        deadline = time.monotonic() + timeout_s
        ours = [
            t for t in threading.enumerate()
            if t not in self._threads_before and t is not threading.current_thread()
            and (t.name.startswith("devstack") or "process_request_thread" in t.name or "_server_entry" in t.name)
        ]
        for thread in ours:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = [t.name for t in ours if t.is_alive()]
        if left:
            log.warning("threads still running after stop: %s", ", ".join(left))

    def _set_env(self, values: dict[str, str]) -> None:
        for name in [*values, *_AWS_ENV_REMOVED, *(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_"))]:
            self._saved_env.setdefault(name, os.environ.get(name))
        for name in _AWS_ENV_REMOVED:
            os.environ.pop(name, None)
        for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_")]:
            os.environ.pop(name)  # a service-specific endpoint would win over ours
        os.environ.update(values)

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        if self._saved_debug is not None:
            from app import app

            app.debug = self._saved_debug


def _unbind_routes() -> None:
    from devstack import routes

    routes.bind(None)


def _provision(secret: str) -> str:
    """The table from infra's own definition, the SES sender identity and the link secret. Returns the secret's ARN."""
    import boto3

    from infra.tables import create_invoice_bucket, create_table

    session = boto3.session.Session(region_name=REGION)
    clients = [session.client(name) for name in ("dynamodb", "ses", "secretsmanager", "s3")]
    ddb, ses, secretsmanager, s3 = clients
    try:
        create_table(ddb, TABLE_NAME)
        create_invoice_bucket(s3, INVOICE_BUCKET_NAME)
        ses.verify_email_identity(EmailAddress=SENDER_EMAIL)
        arn: str = secretsmanager.create_secret(Name=LINK_SECRET_NAME, SecretString=secret)["ARN"]
        return arn
    finally:
        for client in clients:
            _close_client(client)


def start(port: int = 0, *, demo_order: bool = True, schedule: bool = True, consume_orders: bool = True,
          orders_visibility_timeout_s: int = sqs_queues.LOCAL_VISIBILITY_TIMEOUT_S,
          orders_max_receives: int | None = None) -> DevStack:
    """Starts the whole stack in this process and returns it running; port 0 picks a free port. The orders queue hides
    a received message for `orders_visibility_timeout_s` and dead-letters it after `orders_max_receives` receives
    (None: infra's RedrivePolicy).

    One stack per process: the app module, moto's backends and the installed Container are process-wide.
    Sets os.environ (AWS endpoint and dummy credentials) while it runs; stop() restores it.
    """
    global _running
    import boto3
    from moto.server import ThreadedMotoServer

    from app import app, intake_orders, job_worker
    from chalicelib import jobs
    from devstack import mailbox, moto_lock, routes
    from devstack.issuer import LocalIssuer
    from devstack.scheduler import Job, Scheduler

    with _running_lock:
        if _running is not None:
            raise RuntimeError(f"a local stack is already running in this process at {_running.url}")
        stack = _running = DevStack()
    try:
        moto_lock.install()  # before moto serves anything: linearizable DynamoDB, no leak, cheap transactions
        mailbox.stamp_sent_messages(stack.clock.now)

        stack._moto = ThreadedMotoServer(HOST, 0, verbose=False)
        stack._moto.start()
        moto_host, moto_port = stack._moto.get_host_and_port()
        stack.moto_url = f"http://{moto_host}:{moto_port}"
        stack._set_env({**_AWS_ENV, "AWS_ENDPOINT_URL": stack.moto_url})

        _register_dev_routes(app)
        stack._saved_debug = app.debug
        app.debug = True  # local runs only; the deployed app keeps it off
        stack._http = _Http(app, port)
        stack.port = stack._http.port

        stack._tmpdir = Path(tempfile.mkdtemp(prefix="devstack-"))
        stack.issuer = LocalIssuer(f"{stack.url}/_dev/issuer", JWT_AUDIENCE, COUNTRY_CLAIM)
        jwks_url = stack.issuer.write_jwks(stack._tmpdir / "jwks.json")
        secret_arn = _provision(secrets.token_urlsafe(48))
        stack._sqs = boto3.session.Session(region_name=REGION).client("sqs")
        stack.queues = sqs_queues.create_queues(stack._sqs, orders_visibility_timeout_s, orders_max_receives)
        stack.work_queues = sqs_queues.create_queues(stack._sqs, spec=sqs_queues.WORK)
        # The jobs' worker always runs (a scheduled job or a console button only queues the work); the console's
        # buttons drain the queue under its lock, so they answer once the work is done.
        stack._work_consumer = sqs_queues.QueueConsumer(stack._sqs, stack.work_queues, job_worker, REGION, "work")

        env = local_env(stack.port, jwks_url, secret_arn, stack.work_queues.url)
        stack.container = LocalContainer(env, clock=stack.clock)
        stack.container.settings  # noqa: B018 - a configuration mistake fails here, not on the first request
        use_container(stack.container)
        routes.bind(routes.Runtime(url=stack.url, moto_url=stack.moto_url, issuer=stack.issuer, region=REGION,
                                   table=TABLE_NAME, orders_queue_url=stack.queues.url,
                                   orders_dead_letter_queue_url=stack.queues.dead_letter_url,
                                   work_queue_url=stack.work_queues.url,
                                   work_dead_letter_queue_url=stack.work_queues.dead_letter_url,
                                   work_consumer=stack._work_consumer))

        if demo_order:
            # Before serving: once the app answers, the demo's activation email is already waiting.
            stack.demo_order = routes.fresh_order(stack.clock.now())
            result = jobs.receive_order(stack.demo_order)
            log.info("demo order %s: %s, subscription %s", stack.demo_order["order_id"], result.outcome,
                     result.subscription_id)

        stack._http.start()
        if consume_orders:
            stack._orders_consumer = sqs_queues.QueueConsumer(stack._sqs, stack.queues, intake_orders, REGION)
            stack._orders_consumer.start()
        stack._work_consumer.start()
        if schedule:
            stack._scheduler = Scheduler([
                Job("deliver_outbox", OUTBOX_EVERY_S, jobs.JOBS["deliver_outbox"]),
                Job("cleanup_unactivated", CLEANUP_EVERY_S, jobs.JOBS["cleanup_unactivated"]),
                Job("send_reminders", DAILY_S, jobs.JOBS["send_reminders"]),
                Job("process_renewals", DAILY_S, jobs.JOBS["process_renewals"]),
            ])
            stack._scheduler.start()
        return stack
    except BaseException:
        stack.stop()
        raise


# ---------------------------------------------------------------------------------------------------------------- CLI


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

    def on_signal(signum: int, _frame: Any) -> None:
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
