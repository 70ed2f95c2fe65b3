"""The local stack runner: embedded AWS (moto server), the Chalice app on chalice's local server, the scheduled jobs,
a local token issuer and the /_dev routes, all in one process (`python -m devstack`: devstack/cli.py).

From Python (tests, scripts): `stack = start(port=0)` returns a running `DevStack` (`.url`, `.stop()`).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import SettableClock
from chalicelib.container import Container, use_container
from devstack import queues as sqs_queues
from devstack.gateway import gateway_handler_class, stoppable_server_class

if TYPE_CHECKING:  # imported when the stack starts: importing this module stays cheap
    from chalice.app import Chalice
    from chalice.config import Config
    from chalice.local import LocalDevServer
    from moto.server import ThreadedMotoServer

    from devstack.issuer import LocalIssuer
    from devstack.scheduler import Scheduler

log = logging.getLogger("devstack")

HOST = "127.0.0.1"
REGION = "eu-west-1"
PROJECT_DIR = Path(__file__).resolve().parent.parent
TABLE_NAME = "subscription-portal-local"
INVOICE_BUCKET_NAME = "subscription-portal-invoices-local"
SENDER_EMAIL = "no-reply@vendor.example"
VENDOR_NAME = "Example Software"
JWT_AUDIENCE = "local-portal"
COUNTRY_CLAIM = "country"
LINK_SECRET_NAME = "subscription-portal/link-secret"
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
def _chalice_config() -> Config:
    from chalice.cli.factory import CLIFactory

    # The stage's environment_variables stay unused: the app reads its settings only from the installed Container.
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    return factory.create_config_obj(chalice_stage_name="dev")


def _register_dev_routes(app: Chalice) -> None:
    """Adds the /_dev blueprint to the app singleton, once per process."""
    from devstack.routes import URL_PREFIX, dev

    with _running_lock:
        if f"{URL_PREFIX}/orders" not in app.routes:
            app.register_blueprint(dev, url_prefix=URL_PREFIX)


def _local_server(app: Chalice, config: Config, port: int) -> LocalDevServer:
    """chalice.local.create_local_server, minus two limits: it may run only once per process (it swaps the app's
    class for one with a thread-local current_request, and a second swap would make that class its own base), and it
    cannot be given a server class (ours can be stopped completely)."""
    from chalice import local

    with _running_lock:
        if not isinstance(app, local.LocalChalice):
            local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
            app.__class__ = local.CustomLocalChalice
    return local.LocalDevServer(
        app, config, HOST, port, handler_cls=gateway_handler_class(), server_cls=stoppable_server_class()
    )


class _Http:
    def __init__(self, app: Chalice, port: int) -> None:
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
    issuer: LocalIssuer | None = None
    demo_order: dict[str, Any] | None = None
    _moto: ThreadedMotoServer | None = None
    _http: _Http | None = None
    _scheduler: Scheduler | None = None
    queues: sqs_queues.Queues | None = None
    work_queues: sqs_queues.Queues | None = None
    _orders_consumer: sqs_queues.QueueConsumer | None = None
    _work_consumer: sqs_queues.QueueConsumer | None = None
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
        steps: list[tuple[str, Callable[[], object]]] = [
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
