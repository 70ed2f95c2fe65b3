"""The developer routes under /_dev. Only the local stack registers this blueprint; the deployed app never has it.

Every route works through the Container the runner installed (`get_container()`), so orders, jobs and the clock are the
app's own; the token issuer is the runner's local IdP.
"""

from __future__ import annotations

import copy
import html
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import jobs
from chalicelib.adapters.clock import SettableClock
from chalicelib.api.http import json_view, parse_json_body, raw_body
from chalicelib.container import get_container
from chalicelib.domain import errors
from chalicelib.domain.models import parse_utc, utc_iso
from chalicelib.domain.reference import COUNTRIES
from chalicelib.domain.validators import validate_email
from devstack import mailbox
from devstack.issuer import LocalIssuer
from devstack.queues import QueueConsumer, worker_counts
from devstack.sample import SAMPLE_ORDER

URL_PREFIX = "/_dev"
HERE = Path(__file__).resolve().parent
# Developers post with curl as often as with the console: any of these is read as JSON.
BODY_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded"]

dev = Blueprint(__name__)


@dataclass(frozen=True)
class Runtime:
    url: str
    moto_url: str
    issuer: LocalIssuer
    region: str
    table: str
    orders_queue_url: str
    orders_dead_letter_queue_url: str
    work_queue_url: str
    work_dead_letter_queue_url: str
    work_consumer: QueueConsumer  # of the work queue


_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    """The runner tells the routes which stack they belong to (None when it stops)."""
    global _runtime
    _runtime = runtime


def _bound() -> Runtime:
    if _runtime is None:
        raise errors.Conflict("The local stack is not running.")
    return _runtime


def fresh_order(now: datetime, **changes: Any) -> dict[str, Any]:
    """The sample order with a new order_id, ordered now (app time)."""
    order = copy.deepcopy(SAMPLE_ORDER)
    order.update(order_id=f"DEV-{secrets.token_hex(5).upper()}", ordered_at=utc_iso(now))
    order.update(changes)
    return order


def _settable_clock() -> SettableClock:
    clock = get_container().clock
    if not isinstance(clock, SettableClock):
        raise errors.Conflict("The installed clock cannot be set.")
    return clock


def _query(name: str) -> str | None:
    query: Mapping[str, str] = dev.current_request.query_params or {}
    return query.get(name)


def _body() -> dict[str, Any]:
    return parse_json_body(raw_body(dev.current_request))


# ---------------------------------------------------------------------------------------------------------------- API


@dev.route("/orders", methods=["POST"], content_types=BODY_TYPES)
@json_view
def post_order() -> Response:
    """The order system's message, through the same intake code as the SQS handler."""
    result = jobs.receive_order(_body())  # OrderRejected -> 400 InvalidOrder with the reasons
    if result.outcome == "expired":
        raise errors.DeadlinePassed(
            "The order's activation deadline (ordered_at + 90 days) has already passed; nothing was created. "
            "A new order is needed."
        )
    return Response(body={"subscription_id": result.subscription_id}, status_code=201 if result.created else 200)


@dev.route("/aws", methods=["GET"])
@json_view
def get_aws() -> dict[str, str]:
    """The embedded AWS, for any SDK: e.g. the order system's team publishes to the orders queue with its own client."""
    runtime = _bound()
    return {
        "endpoint_url": runtime.moto_url,
        "region": runtime.region,
        "orders_queue_url": runtime.orders_queue_url,
        "orders_dead_letter_queue_url": runtime.orders_dead_letter_queue_url,
        "work_queue_url": runtime.work_queue_url,
        "work_dead_letter_queue_url": runtime.work_dead_letter_queue_url,
        "table": runtime.table,
    }


@dev.route("/mailbox", methods=["GET"])
@json_view
def get_mailbox() -> dict[str, Any]:
    to = _query("to")
    return {"messages": [_public(m) for m in mailbox.messages(to)]}


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: message[k] for k in ("to", "subject", "text", "html", "sent_at", "attachments")}


@dev.route("/tokens", methods=["POST"], content_types=BODY_TYPES)
@json_view
def post_token() -> dict[str, str]:
    body = _body()
    email, country, name = body.get("email"), body.get("country"), body.get("name")
    if not isinstance(email, str):
        raise errors.InvalidInput("email is required (the signed-in person's address).")
    try:
        email = validate_email(email)
    except ValueError as error:
        raise errors.InvalidInput(f"email: {error}") from None
    if not isinstance(country, str) or country.strip().upper() not in COUNTRIES:
        raise errors.InvalidInput("country must be an ISO 3166-1 alpha-2 code such as FR or GB.")
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise errors.InvalidInput("name must be a string of at most 200 characters.")
    return {"token": _bound().issuer.token(email, country.strip().upper(), name or None)}


@dev.route("/issuer/.well-known/jwks.json", methods=["GET"])
@json_view
def get_jwks() -> dict[str, Any]:
    """The local issuer's public keys (the app itself reads them from the JWKS file)."""
    return _bound().issuer.jwks()


@dev.route("/clock", methods=["POST", "DELETE"], content_types=BODY_TYPES)
@json_view
def clock() -> dict[str, Any]:
    settable = _settable_clock()
    if dev.current_request.method == "DELETE":
        settable.reset()
    else:
        now = _body().get("now")
        if not isinstance(now, str):
            raise errors.InvalidInput('Send {"now": "<ISO 8601 timestamp with a zone, e.g. 2027-03-01T10:00:00Z>"}.')
        try:
            moment = parse_utc(now)
        except ValueError as error:
            raise errors.InvalidInput(f"'{now[:40]}': {error}.") from None
        settable.set(moment)
    return {"now": utc_iso(settable.now()), "set": settable.is_set}


@dev.route("/jobs/{name}", methods=["POST"], content_types=BODY_TYPES)
@json_view
def run_job(name: str) -> dict[str, Any]:
    job = jobs.JOBS.get(name)
    if job is None:
        raise errors.NotFound(f"No job named '{name[:40]}'. Jobs: {', '.join(sorted(jobs.JOBS))}.")
    consumer = _bound().work_consumer
    # The worker thread waits on the lock: what the run queues is done here, by the same worker code, before the
    # answer, which so has DESIGN's summary (e.g. renewed/ended/invoices) next to what the run queued.
    with consumer.lock, worker_counts(get_container().workers) as done:
        summary: dict[str, Any] = job()
        summary["work_messages_handled"] = consumer.drain()
    return {**summary, **dict.fromkeys(_WORKER_COUNTS.get(name, ()), 0), **done}


# What each fanned-out job's worker reports (DESIGN 14.5, 14.6), zero when it had nothing to do.
_WORKER_COUNTS = {
    "process_renewals": ("renewed", "ended", "invoices"),
    "send_reminders": ("activation_reminders", "renewal_reminders"),
}


# ------------------------------------------------------------------------------------------------------------ console


@lru_cache(maxsize=1)
def _templates() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE)), autoescape=True, undefined=jinja2.StrictUndefined
    )


_URL = re.compile(r"https?://(?:(?!&quot;|&#x27;|&lt;|&gt;)[^\s<>\"'])+")


def linkify(text: str) -> str:
    """Escapes the text, then turns its http(s) URLs into links. Safe for mail content."""

    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        trail = ""
        while url and url[-1] in ".,;:!?)]":
            url, trail = url[:-1], url[-1] + trail
        return f'<a href="{url}" rel="noreferrer">{url}</a>{trail}'

    return _URL.sub(link, html.escape(text))


CONSOLE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dev.route("/", methods=["GET"])
def console() -> Response:
    from markupsafe import Markup

    runtime = _bound()
    container = get_container()
    to = _query("to") or ""
    messages = list(reversed(mailbox.messages(to or None)))  # newest first
    for message in messages:
        message["text_html"] = Markup(linkify(message["text"]))
    clock = container.clock
    now = clock.now()
    page = (
        _templates()
        .get_template("console.html")
        .render(
            url=runtime.url,
            moto_url=runtime.moto_url,
            now=utc_iso(now),
            clock_set=isinstance(clock, SettableClock) and clock.is_set,
            messages=messages,
            to=to,
            jobs=sorted(jobs.JOBS),
            sample_order=json.dumps(fresh_order(now), indent=2),
            settings=container.settings,
        )
    )
    return Response(body=page, status_code=200, headers=dict(CONSOLE_HEADERS))
