"""DynamoDB calls per route, through the real handlers (chalice.test.Client and the SQS handler), at two data sizes."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from chalice.test import Client
from moto import mock_aws

from bench.issuer import Issuer
from bench.provision import ACCOUNT, REGION, batch_write, provision
from bench.recorder import CountingContainer, Recorder
from bench.report import Report
from bench.seed import items_of, order_message, subscription
from chalicelib.adapters.clock import FixedClock
from chalicelib.container import use_container

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CALLER = "marie.dupont@example.fr"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
COUNTRIES = ("FR", "DE", "GB")


@dataclass(frozen=True)
class Size:
    label: str
    caller_subscriptions: int
    other_subscriptions: int
    seats: int  # seats (and so history events) on the subscription the administration routes manage


SIZES = (Size("small", 1, 10, 2), Size("large", 50, 500, 60))


@dataclass
class Measured:
    status: int
    expected: int
    dynamodb: Counter[str]
    email: Counter[str]
    other: Counter[str]
    items: int | None = None


@dataclass(frozen=True)
class Route:
    key: str
    label: str
    target: int | None  # DynamoDB calls outside the email phase
    plus_email: bool = False


ROUTES = (
    Route("intake", "SQS intake of one order (intake_orders)", None, plus_email=True),
    Route("list", "GET /subscriptions (results)", 3),
    Route("list_empty", "GET /subscriptions (no results: hints query)", 3),
    Route("detail_admin", "GET /subscriptions/{id} (admin)", 2),
    Route("detail_stranger", "GET /subscriptions/{id} (stranger -> 404)", 2),
    Route("page", "GET /activate/{token} (agreement page)", None),
    Route("resend", "POST /subscriptions/{id}/activation-email", None, plus_email=True),
    # The link resolves its token and its subscription, then reads the invoice series counter (the first invoice's
    # number, DESIGN 14.2) before the one transaction.
    Route("link_activation", "POST /activate/{token} (link activation)", 4, plus_email=True),
    Route("portal_activation", "POST /subscriptions/{id}/activation", 3, plus_email=True),
    Route("users", "GET /subscriptions/{id}/users", None),
    Route("assign", "POST /subscriptions/{id}/users", None, plus_email=True),
    Route("unassign", "DELETE /subscriptions/{id}/users/{email}", None, plus_email=True),
    Route("entitlements", "GET /me/entitlements", None),
    # Seat holders, then the customer's contacts fill the rest of the page: at most 5 calls, whatever the data.
    Route("candidates", "GET /subscriptions/{id}/admin-candidates", 5),
    Route("po", "PATCH /subscriptions/{id} (If-Match)", None),
    Route("po_idempotent", "PATCH /subscriptions/{id} (Idempotency-Key, first)", None),
    Route("po_replay", "PATCH /subscriptions/{id} (Idempotency-Key, replay)", None),
    Route("payment", "PUT /subscriptions/{id}/payment-method", None),
    Route("agreement", "GET /subscriptions/{id}/agreement", None),
    Route("cancel", "POST /subscriptions/{id}/cancellation", None, plus_email=True),
    Route("withdraw", "DELETE /subscriptions/{id}/cancellation", None, plus_email=True),
    Route("history", "GET /subscriptions/{id}/history", None),
    Route("transfer", "POST /subscriptions/{id}/admin-transfer", None, plus_email=True),
)


@dataclass
class Scenario:
    size: Size
    container: CountingContainer
    client: Client
    issuer: Issuer
    results: dict[str, Measured] = field(default_factory=dict)
    last_items: int | None = None

    def measure(self, key: str, expected: int, action: Callable[[], int]) -> None:
        recorder = self.container.recorder
        recorder.reset()
        self.last_items = None
        status = action()
        self.results[key] = Measured(
            status=status,
            expected=expected,
            dynamodb=recorder.count("dynamodb", phase="request"),
            email=recorder.count(phase="email"),
            other=Counter({k: v for k, v in recorder.count(phase="request").items() if not k.startswith("dynamodb:")}),
            items=self.last_items,
        )

    def get(self, path: str, who: str = CALLER, country: str = "FR") -> int:
        response = self.client.http.get(path, headers=self.issuer.bearer(who, country))
        if response.status_code == 200:
            self.last_items = len(json.loads(response.body).get("items", []))
        return int(response.status_code)

    def intake(self, message: dict[str, Any]) -> int:
        event = self.client.events.generate_sqs_event([json.dumps(message)], queue_name="subscription-portal-orders")
        payload = self.client.lambda_.invoke("intake_orders", event).payload
        return 200 if payload == {"batchItemFailures": []} else 500


def _latest_token(to: str) -> str:
    from moto.ses.models import ses_backends

    for sent in reversed(ses_backends[ACCOUNT][REGION].sent_messages):
        raw = sent.raw_data.encode() if isinstance(sent.raw_data, str) else sent.raw_data
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if message["To"] != to:
            continue
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        match = re.search(r"/activate/([A-Za-z0-9_-]{43})", text)
        if match:
            return match.group(1)
    raise RuntimeError(f"no activation email to {to}")


def _seed(size: Size) -> None:
    items: list[dict[str, Any]] = []
    for n in range(size.caller_subscriptions):
        items += items_of(subscription(n, CALLER, "FR", NOW - timedelta(days=40 + n % 300), active=True))
    for n in range(size.other_subscriptions):
        country = COUNTRIES[n % 3]
        items += items_of(
            subscription(1000 + n, f"other{n}@example.fr", country, NOW - timedelta(days=1 + n % 80), active=n % 2 == 0)
        )
    batch_write(boto3.client("dynamodb", region_name=REGION), items)


def _run_size(size: Size, issuer: Issuer, jwks: Path) -> dict[str, Measured]:
    with mock_aws():
        env = provision(jwks)
        container = CountingContainer(env, FixedClock(NOW), Recorder())
        container.label_email_phase()
        use_container(container)
        try:
            _seed(size)
            from app import app

            with Client(app, stage_name="dev", project_dir=str(ROOT)) as client:
                scenario = Scenario(size, container, client, issuer)
                _walk(scenario)
                return scenario.results
        finally:
            use_container(None)


def _walk(s: Scenario) -> None:
    version = s.container.agreements.current("FR", "fr").version
    # Warm the container first (link secret, JWKS, clients): the counts are those of a warm Lambda.
    warm_id = _intake_id(s, "W-0000001")
    s.get("/subscriptions")

    s.measure("intake", 200, lambda: s.intake(order_message("W-0000002", CALLER, NOW - timedelta(hours=1))))
    pending_id = _subscription_of(s, "W-0000002")
    first_token = _latest_token(CALLER)
    s.measure("list", 200, lambda: s.get("/subscriptions"))
    s.measure("list_empty", 200, lambda: s.get("/subscriptions", country="DE"))
    s.measure("detail_admin", 200, lambda: s.get(f"/subscriptions/{pending_id}"))
    s.measure("detail_stranger", 404, lambda: s.get(f"/subscriptions/{pending_id}", who="other0@example.fr"))
    s.measure("page", 200, lambda: int(s.client.http.get(f"/activate/{first_token}").status_code))
    s.measure(
        "resend",
        202,
        lambda: int(
            s.client.http.post(
                f"/subscriptions/{pending_id}/activation-email", body="", headers=s.issuer.bearer(CALLER, "FR")
            ).status_code
        ),
    )
    new_token = _latest_token(CALLER)
    s.measure(
        "link_activation",
        200,
        lambda: int(
            s.client.http.post(
                f"/activate/{new_token}", body=f"accept=yes&agreement_version={version}", headers=FORM
            ).status_code
        ),
    )
    s.measure(
        "portal_activation",
        200,
        lambda: int(
            s.client.http.post(
                f"/subscriptions/{warm_id}/activation",
                body=json.dumps({"accept_agreement": True, "agreement_version": version}),
                headers={**s.issuer.bearer(CALLER, "FR"), **JSON},
            ).status_code
        ),
    )
    if s.container.subscriptions.get_subscription(pending_id).status.value != "active":
        raise RuntimeError("the link activation did not activate the subscription")
    _administration(s, pending_id)


def _administration(s: Scenario, subscription_id: str) -> None:
    """The administration routes on one active subscription carrying `size.seats` seats and as many history events."""
    from chalicelib.domain.models import Person, Role
    from chalicelib.services.identity import Caller

    s.container.dynamodb.update_item(  # room for the seats: the bench's order is for 5 licences
        TableName=s.container.settings.table_name,
        Key={"PK": {"S": f"SUB#{subscription_id}"}, "SK": {"S": "SUB"}},
        UpdateExpression="SET license_quantity = :q",
        ExpressionAttributeValues={":q": {"N": str(s.size.seats + 10)}},
    )
    admin = s.container.access.authorize(Caller(CALLER, "FR"), subscription_id, role=Role.ADMIN, active=True)
    for n in range(s.size.seats):
        s.container.administration.assign_seat(admin, Person(email=f"seat{n}@example.fr", name="Seat"))
    base = f"/subscriptions/{subscription_id}"
    auth = s.issuer.bearer(CALLER, "FR")

    def send(method: str, path: str, body: Any = None, **headers: str) -> int:
        data = "" if body is None else json.dumps(body)
        response = s.client.http.request(method, path, body=data, headers={**auth, **JSON, **headers})
        return int(response.status_code)

    s.measure("users", 200, lambda: s.get(f"{base}/users"))
    s.measure("assign", 201, lambda: send("POST", f"{base}/users", {"email": "new.seat@example.fr", "name": "New"}))
    s.measure("unassign", 204, lambda: send("DELETE", f"{base}/users/new.seat%40example.fr"))
    s.measure("entitlements", 200, lambda: s.get("/me/entitlements", who="seat0@example.fr"))
    s.measure("candidates", 200, lambda: s.get(f"{base}/admin-candidates"))
    version = s.container.subscriptions.get_subscription(subscription_id).version
    s.measure("po", 200, lambda: send("PATCH", base, {"po_number": "PO-B1"}, **{"If-Match": f'"{version}"'}))
    s.measure("po_idempotent", 200, lambda: send("PATCH", base, {"po_number": "PO-B2"}, **{"Idempotency-Key": "k1"}))
    s.measure("po_replay", 200, lambda: send("PATCH", base, {"po_number": "PO-B2"}, **{"Idempotency-Key": "k1"}))
    card = {"type": "card", "token": "pm_bench", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2031}
    s.measure("payment", 200, lambda: send("PUT", f"{base}/payment-method", card))
    s.measure("agreement", 200, lambda: s.get(f"{base}/agreement"))
    s.measure("cancel", 200, lambda: send("POST", f"{base}/cancellation"))
    s.measure("withdraw", 200, lambda: send("DELETE", f"{base}/cancellation"))
    s.measure("history", 200, lambda: s.get(f"{base}/history"))
    s.measure(
        "transfer", 200, lambda: send("POST", f"{base}/admin-transfer", {"email": "seat0@example.fr", "name": "S"})
    )


def _intake_id(s: Scenario, order_id: str) -> str:
    if s.intake(order_message(order_id, CALLER, NOW - timedelta(hours=2))) != 200:
        raise RuntimeError("the warm-up order was not accepted")
    return _subscription_of(s, order_id)


def _subscription_of(s: Scenario, order_id: str) -> str:
    record = s.container.orders.get_order(order_id)
    if record is None:
        raise RuntimeError(f"order {order_id} created nothing")
    return str(record.subscription_id)


def _ops(counter: Counter[str]) -> str:
    return ", ".join(op + (f" x{n}" if n > 1 else "") for op, n in sorted(counter.items())) or "-"


def _email(counter: Counter[str]) -> str:
    if not counter:
        return "-"
    ses = sum(n for k, n in counter.items() if k.startswith("ses:"))
    ddb = Counter({k.split(":", 1)[1]: n for k, n in counter.items() if k.startswith("dynamodb:")})
    rest = sum(counter.values()) - ses - sum(ddb.values())
    return f"{ses} SES + {sum(ddb.values())} DDB ({_ops(ddb)})" + (f" + {rest} other" if rest else "")


def run(report: Report, workdir: Path) -> list[str]:
    small, large = SIZES
    report.section("2. DynamoDB calls per route (through the real handlers, warm container, at two data sizes)")
    report.line(
        f"{small.label}: the caller has {small.caller_subscriptions} subscription(s) (+2 from the intake), the table "
        f"holds {small.other_subscriptions} others; {large.label}: {large.caller_subscriptions} (+2) and "
        f"{large.other_subscriptions} others; the managed subscription carries {small.seats} / {large.seats} seats "
        "and as many history events."
    )
    issuer = Issuer()
    jwks = issuer.write_jwks(workdir / "jwks-calls.json")
    by_size = {size.label: _run_size(size, issuer, jwks) for size in SIZES}
    rows = []
    notes = []
    for route in ROUTES:
        a, b = by_size[small.label][route.key], by_size[large.label][route.key]
        same = a.dynamodb == b.dynamodb and a.email == b.email
        calls = max(sum(a.dynamodb.values()), sum(b.dynamodb.values()))
        if route.target is None:
            verdict, target = ("fixed" if same else "GROWS"), "-"
        else:
            within = calls <= route.target
            verdict = ("ok" if within else "OVER") + ("" if same else (", bounded" if within else ", GROWS"))
            target = f"<= {route.target}" + (" + email" if route.plus_email else "")
        for m, size in ((a, small), (b, large)):
            if m.status != m.expected:
                notes.append(f"!! {route.label} answered {m.status} (expected {m.expected}) with the {size.label} data")
            if m.other:
                notes.append(f"{route.label} ({size.label}) also called: {_ops(m.other)}")
        ops = _ops(a.dynamodb) if a.dynamodb == b.dynamodb else f"{_ops(a.dynamodb)} | {_ops(b.dynamodb)}"
        mail = _email(a.email) if a.email == b.email else f"{_email(a.email)} | {_email(b.email)}"
        counts = f"{sum(a.dynamodb.values())} / {sum(b.dynamodb.values())}"
        rows.append([route.label, f"{a.status}", counts, ops, mail, target, verdict])
    report.table(
        ["route", "status", "calls S/L", "DynamoDB operations", "the email", "target", "verdict"], rows, right=(1, 2)
    )
    for note in notes:
        report.line(note)
    listed = {k: by_size[k]["list"] for k in by_size}
    report.line(
        "calls S/L = DynamoDB calls of the route itself with the small / large data; 'the email' = the delivery right "
        "after\nthe state change (SES SendRawEmail + the outbox's mark_sent UpdateItem); 'fixed' = the same at both "
        f"sizes.\nThe list returned {', '.join(f'{n} ({k})' for k, n in ((k, v.items) for k, v in listed.items()))} "
        "subscriptions on its first page (default page size 20)."
    )
    worst = {route.key: max(sum(m[route.key].dynamodb.values()) for m in by_size.values()) for route in ROUTES}
    verdicts = Counter(row[-1] for row in rows)
    return [
        f"DynamoDB calls: list {max(worst['list'], worst['list_empty'])} (<= 3), detail "
        f"{max(worst['detail_admin'], worst['detail_stranger'])} (<= 2), activation "
        f"{max(worst['link_activation'], worst['portal_activation'])} + email (<= 3 + email); "
        + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
        + (f"; {len(notes)} note(s)" if notes else "")
    ]
