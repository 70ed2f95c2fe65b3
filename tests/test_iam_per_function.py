"""Each function's IAM policy allows exactly what its code calls, on exactly the stack's resources.

The list is derived from the code, not written by hand: each function's real handler runs on moto (the API through
every route the app declares, each job and the intake on real work, plus the failure paths that make extra calls)
while a botocore `before-parameter-build` hook records every AWS operation with its parameters. Each recorded call is
turned into the IAM action(s) and resource(s) AWS authorises it against; the function's policy file must allow that
set and nothing more, apart from what the Lambda platform itself needs (platform_needs below).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from chalice.local import LambdaContext
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib import jobs
from chalicelib.adapters.clock import FixedClock
from chalicelib.container import Container, use_container
from devstack.queues import WORK, take_all
from infra.stack import FUNCTIONS, SQS_SOURCES
from tests.support import (
    ADMIN,
    INVOICE_BUCKET,
    NOW,
    REGION,
    SEAT,
    TABLE,
    Stack,
    activate,
    as_admin,
    order,
    provision,
    shared_issuer,
    shared_session,
    token_of,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
CONFIGURATION_SET = "portal-mail"

# The test's physical names -> the template's logical resources (as `${X}` / `${X.Arn}` in the policies).
TABLE_ARN = "${PortalTable.Arn}"
INVOICE_OBJECTS = "${InvoiceBucket.Arn}/invoices/*"
SES_IDENTITY = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailDomain}"
SES_CONFIGURATION_SET = (
    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}"
)
LOG_STREAMS = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${%s}:*"
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}

# Needed by the Lambda service on the function's behalf, never called by the code:
# - its own log group (Lambda writes the function's output there),
# - X-Ray segments (Tracing: Active); X-Ray has no resource-level permissions, so "*" is the only resource,
# - for the SQS-fed function, what the event source mapping uses to poll and delete (AWS Lambda developer guide,
#   "Execution role permissions" for Amazon SQS).
XRAY = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}


def sqs_polling(queue: str) -> set[tuple[str, str]]:
    actions = ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")
    return {(f"sqs:{action}", f"${{{queue}.Arn}}") for action in actions}


def platform_needs(function_name: str) -> set[tuple[str, str]]:
    function = next(f for f in FUNCTIONS if f.name == function_name)
    needs = {(f"logs:{a}", LOG_STREAMS % function.log_group_id) for a in ("CreateLogStream", "PutLogEvents")} | XRAY
    if function_name in SQS_SOURCES:
        needs |= sqs_polling(SQS_SOURCES[function_name])
    return needs


# -- recording -------------------------------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] | None = None

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if self.calls is not None:
            self.calls.append((model.service_model.service_name, model.name, params))

    @contextmanager
    def recording(self, into: list[tuple[str, str, dict[str, Any]]]) -> Iterator[None]:
        self.calls = into
        try:
            yield
        finally:
            self.calls = None


RECORDER = Recorder()


def iam_requests(service: str, operation: str, params: dict[str, Any]) -> set[tuple[str, str]]:
    """What IAM authorises one AWS call against: (action, resource) pairs in the template's spelling."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            pairs = set()
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                assert body["TableName"] == TABLE, body
                pairs.add((f"dynamodb:{TRANSACT_ACTIONS[kind]}", TABLE_ARN))
            return pairs
        if operation == "BatchGetItem":
            assert set(params["RequestItems"]) == {TABLE}, params["RequestItems"]
            return {("dynamodb:BatchGetItem", TABLE_ARN)}
        assert params["TableName"] == TABLE, params
        index = params.get("IndexName")
        return {(f"dynamodb:{operation}", f"{TABLE_ARN}/index/{index}" if index else TABLE_ARN)}
    if service == "s3":
        assert params["Bucket"] == INVOICE_BUCKET and params["Key"].startswith("invoices/"), params
        return {(f"s3:{operation}", INVOICE_OBJECTS)}
    if service == "secretsmanager":
        return {(f"secretsmanager:{operation}", "${LinkSecret}")}
    if service == "sqs":
        assert operation == "SendMessageBatch" and params["QueueUrl"].endswith("/" + WORK.name), params
        return {("sqs:SendMessage", "${WorkQueue.Arn}")}  # SendMessageBatch is authorised as SendMessage
    if service == "ses":
        assert params.get("ConfigurationSetName") == CONFIGURATION_SET, "every email goes through the config set"
        return {(f"ses:{operation}", SES_IDENTITY), (f"ses:{operation}", SES_CONFIGURATION_SET)}
    raise AssertionError(f"no IAM mapping for {service}:{operation}: add one here and to the function's policy")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _as_sub(value: Any) -> str:
    if isinstance(value, str):
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        return f"${{{argument}}}"
    if function == "Fn::GetAtt":
        return f"${{{'.'.join(_as_list(argument))}}}"
    assert function == "Fn::Sub" and isinstance(argument, str), value
    return argument


def policy_grants(function_name: str) -> set[tuple[str, str]]:
    policy_file = CONFIG["lambda_functions"][function_name]["iam_policy_file"]
    policy = json.loads((ROOT / ".chalice" / policy_file).read_text())
    return {
        (action, _as_sub(resource))
        for statement in _as_list(policy["Statement"])
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }


# -- the stack, with the configuration set the deployed functions use -----------------------------------------------
@dataclass
class Recorded:
    stack: Stack
    env: dict[str, str]
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def cold_container(self) -> Container:
        """A new Lambda container: nothing cached (clients, the link secret), as on the function's first run."""
        container = Container(self.env, clock=self.stack.clock, session=shared_session())
        use_container(container)
        return container


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    session = shared_session()
    # chalice's test context says every invocation has 3 s left, less than the jobs' stop margin: give them the
    # time a deployed run has.
    monkeypatch.setattr(LambdaContext, "get_remaining_time_in_millis", lambda _: 60_000.0)
    # Before any client of this test exists: botocore copies a session's handlers into each client it creates.
    session.events.register("before-parameter-build", RECORDER, unique_id="iam-recorder")
    with mock_aws():
        env, ddb = provision(tmp_path)
        session.client("ses", region_name=REGION).create_configuration_set(ConfigurationSet={"Name": CONFIGURATION_SET})
        env = {**env, "SES_CONFIGURATION_SET": CONFIGURATION_SET}
        clock = FixedClock(NOW)
        container = Container(env, clock=clock, session=session)
        use_container(container)
        try:
            yield Recorded(Stack(container=container, clock=clock, issuer=shared_issuer(), ddb=ddb), env)
        finally:
            use_container(None)


def _derived(calls: list[tuple[str, str, dict[str, Any]]]) -> set[tuple[str, str]]:
    assert calls, "the function made no AWS call at all: the scenario did not run it"
    return set().union(*(iam_requests(*call) for call in calls))


def _assert_exact(function_name: str, calls: list[tuple[str, str, dict[str, Any]]]) -> None:
    needed = _derived(calls) | platform_needs(function_name)
    granted = policy_grants(function_name)
    missing = sorted(needed - granted)
    extra = sorted(granted - needed)
    assert (missing, extra) == ([], []), (
        f".chalice/{CONFIG['lambda_functions'][function_name]['iam_policy_file']}: "
        f"missing {missing}, granted but never used {extra}"
    )


class BrokenRepository:
    """Injected fault: any repository call fails, as a DynamoDB outage would."""

    def __getattr__(self, name: str) -> Any:
        def fail(*_: Any, **__: Any) -> Any:
            raise RuntimeError(f"injected failure in {name}")

        return fail


# -- one test per function ---------------------------------------------------------------------------------------------
def test_every_function_has_its_own_policy_file_and_infra_entry() -> None:
    declared = {source.name for source in app.event_sources} | {"api_handler"}
    assert {f.name for f in FUNCTIONS} == declared
    files = {CONFIG["lambda_functions"][name]["iam_policy_file"] for name in declared}
    assert len(files) == len(declared), "two functions share a policy file"
    for stage in CONFIG["stages"].values():
        assert "iam_policy_file" not in stage, "a stage-wide policy file would give every function the same rights"


def _scheduled(client: Client) -> dict[str, Any]:
    return client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])


def test_intake_orders_policy_is_exactly_what_it_calls(recorded: Recorded) -> None:
    with Client(app, stage_name="dev") as client:
        new, duplicate, broken = json.dumps(order()), json.dumps(order()), json.dumps(order(order_id=""))
        event = client.events.generate_sqs_event(message_bodies=[new, duplicate, broken])
        recorded.cold_container()
        with RECORDER.recording(recorded.calls):
            response = client.lambda_.invoke("intake_orders", event)
    assert len(response.payload["batchItemFailures"]) == 1  # only the broken order is retried
    assert len(recorded.stack.sent()) == 1
    _assert_exact("intake_orders", recorded.calls)


def test_cleanup_unactivated_policy_is_exactly_what_it_calls(recorded: Recorded) -> None:
    stack = recorded.stack
    subscription_id = jobs.receive_order(order()).subscription_id
    stack.clock.advance(days=91)
    with Client(app, stage_name="dev") as client:
        recorded.cold_container()
        with RECORDER.recording(recorded.calls):
            summary = client.lambda_.invoke("cleanup_unactivated", _scheduled(client)).payload
    assert stack.subscriptions.get_subscription(subscription_id) is None, summary
    _assert_exact("cleanup_unactivated", recorded.calls)


def test_deliver_outbox_policy_is_exactly_what_it_calls(recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = recorded.stack
    with monkeypatch.context() as outage:  # SES down while the orders arrive: their emails wait in the outbox
        outage.setattr(stack.container.mailer, "send", BrokenRepository().send)
        outage.setattr(stack.container.invoice_files, "put", BrokenRepository().put)  # and S3: no PDF kept yet
        first = jobs.receive_order(order()).subscription_id
        jobs.receive_order(order(order_id="4500099999"))
        activate(stack, first)  # its confirmation and its invoice (the PDF attached, kept in S3) wait too
    assert stack.sent() == []
    stack.clock.advance(minutes=10)  # past the grace the request had to send them itself
    with Client(app, stage_name="dev") as client:
        mailer = recorded.cold_container().mailer
        real_send, attempts = mailer.send, []

        def first_fails(email: Any) -> str:  # one send fails again (kept for a retry), the other goes out
            attempts.append(email)
            if len(attempts) == 1:
                raise RuntimeError("SES refused")
            return str(real_send(email))

        monkeypatch.setattr(mailer, "send", first_fails)
        with RECORDER.recording(recorded.calls):
            summary = client.lambda_.invoke("deliver_outbox", _scheduled(client)).payload
    assert (summary["sent"], summary["failed"]) == (3, 1), summary
    _assert_exact("deliver_outbox", recorded.calls)


def _api_requests(active: str, token: str, to_activate: str, invoice_id: str) -> list[tuple[Any, ...]]:
    """(method, path, body, who, expected status, extra headers): every route the app declares, admin first."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    key = {"Idempotency-Key": "add-new-user"}
    sub = f"/subscriptions/{active}"
    return [
        ("GET", "/health", None, None, 200, {}),
        ("GET", "/openapi.json", None, None, 200, {}),
        ("GET", "/subscriptions", None, ADMIN, 200, {}),
        ("GET", sub, None, ADMIN, 200, {}),
        ("PATCH", sub, {"po_number": "PO-9"}, ADMIN, 200, {}),
        ("GET", "/me/entitlements", None, SEAT, 200, {}),
        ("GET", f"{sub}/users", None, ADMIN, 200, {}),
        ("POST", f"{sub}/users", {"email": "new.user@example.fr", "name": "New User"}, ADMIN, 201, key),
        ("POST", f"{sub}/users", {"email": "new.user@example.fr", "name": "New User"}, ADMIN, 201, key),  # replay
        ("DELETE", f"{sub}/users/{quote(SEAT)}", None, ADMIN, 204, {}),
        ("GET", f"{sub}/admin-candidates", None, ADMIN, 200, {}),
        ("GET", f"{sub}/agreement", None, ADMIN, 200, {}),
        ("PUT", f"{sub}/payment-method", {"type": "invoice"}, ADMIN, 200, {}),
        ("POST", f"{sub}/cancellation", None, ADMIN, 200, {}),
        ("DELETE", f"{sub}/cancellation", None, ADMIN, 200, {}),
        ("GET", f"{sub}/history", None, ADMIN, 200, {}),
        ("GET", f"{sub}/invoices", None, ADMIN, 200, {}),
        ("GET", f"{sub}/invoices/{invoice_id}", None, ADMIN, 200, {}),
        ("GET", f"{sub}/invoices/{invoice_id}/pdf", None, ADMIN, 200, {"Accept": "application/pdf"}),
        ("GET", f"{sub}/invoices/{invoice_id}/xml", None, ADMIN, 200, {}),
        ("POST", f"{sub}/invoices/{invoice_id}/correction", {"reason": "new PO", "po_number": "PO-9"}, ADMIN, 201, {}),
        ("GET", f"{sub}/agreement/pdf", None, ADMIN, 200, {"Accept": "application/pdf"}),
        ("POST", f"{sub}/admin-transfer", {"email": "next.admin@example.fr", "name": "Next Admin"}, ADMIN, 200, {}),
        ("GET", "/assets/logo.svg", None, None, 200, {}),
        ("HEAD", "/assets/logo.svg", None, None, 200, {}),
        ("GET", f"/activate/{token}", None, None, 200, {}),
        ("HEAD", f"/activate/{token}", None, None, 200, {}),
        ("POST", f"/activate/{token}", "accept=yes&agreement_version=FR-fr-2026.1", None, 200, form),
        ("POST", f"/subscriptions/{to_activate}/activation-email", {}, ADMIN, 202, {}),
        (
            "POST",
            f"/subscriptions/{to_activate}/activation",
            {"accept_agreement": True, "agreement_version": "FR-fr-2026.1"},
            ADMIN,
            200,
            {},
        ),
    ]


def test_api_handler_policy_is_exactly_what_it_calls(recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.domain.models import Person

    stack, calls = recorded.stack, recorded.calls
    active = jobs.receive_order(order()).subscription_id
    activate(stack, active)
    c = stack.container
    c.administration.assign_seat(as_admin(c, ADMIN, active), Person(email=SEAT, name="Sam Seat"))
    jobs.receive_order(order(order_id="4500000002"))  # activated through its emailed link
    to_activate = jobs.receive_order(order(order_id="4500000003")).subscription_id
    token = token_of(stack.mails_to(ADMIN)[-2])
    [invoice], _ = c.invoices.list_invoices(active, 1, None)
    invoice_id = invoice.id
    container = recorded.cold_container()

    exercised: set[tuple[str, str]] = set()
    with Client(app, stage_name="dev") as client:

        def call(method: str, path: str, body: Any, who: str | None, headers: dict[str, str]) -> Any:
            auth = stack.issuer.bearer(who, "FR") if who else {}
            data = body if isinstance(body, str) or body is None else json.dumps(body)
            all_headers = {"Content-Type": "application/json", **auth, **headers}
            return client.http.request(method, path, body=data or b"", headers=all_headers)

        with RECORDER.recording(calls):
            for method, path, body, who, status, headers in _api_requests(active, token, to_activate, invoice_id):
                response = call(method, path, body, who, headers)
                assert response.status_code == status, (method, path, response.body)
                exercised.add((method, _route_of(path)))
            for route, methods in app.routes.items():  # the CORS preflights
                if "OPTIONS" in methods:
                    path = route.replace("{subscription_id}", active).replace("{email}", quote(SEAT))
                    preflight = {"Origin": "https://portal.example.com", "Access-Control-Request-Method": "GET"}
                    assert client.http.request("OPTIONS", path, headers=preflight).status_code in (200, 204)
                    exercised.add(("OPTIONS", route))
            # Injected fault: the view fails after the idempotency record was claimed, which releases it.
            monkeypatch.setattr(container, "access", BrokenRepository())
            failed = call(
                "POST",
                f"/subscriptions/{active}/users",
                {"email": "x@example.fr", "name": "X"},
                ADMIN,
                {"Idempotency-Key": "fails"},
            )
            assert failed.status_code == 500

    declared = {(method, route) for route, methods in app.routes.items() for method in methods}
    assert declared - exercised == set(), "add these routes to _api_requests so their AWS calls are derived"
    _assert_exact("api_handler", calls)


def _route_of(path: str) -> str:
    """The declared route a concrete path matches (ids replaced by their parameter names)."""
    parts = path.split("?")[0].strip("/").split("/")
    for route in app.routes:
        pattern = route.strip("/").split("/")
        if len(pattern) == len(parts) and all(p == q or p.startswith("{") for p, q in zip(pattern, parts, strict=True)):
            return route
    raise AssertionError(f"no route for {path}")


def test_record_mail_event_policy_is_exactly_what_it_calls(recorded: Recorded) -> None:
    from tests.test_mail_notices import SES_BOUNCE

    stack = recorded.stack
    subscription_id = jobs.receive_order(order()).subscription_id
    notice = {**SES_BOUNCE, "mail": {**SES_BOUNCE["mail"], "tags": {"subscription_id": [subscription_id]}}}
    with Client(app, stage_name="dev") as client:
        recorded.cold_container()
        with RECORDER.recording(recorded.calls):
            for _ in range(2):  # the second delivery of the same notice meets the first one's marker
                event = client.events.generate_sns_event(message=json.dumps(notice))
                client.lambda_.invoke("record_mail_event", event)
    events, _ = stack.container.administration_store.history(str(subscription_id), 10, None)
    assert [e.action for e in events] == ["email.bounced"]
    _assert_exact("record_mail_event", recorded.calls)


def test_send_reminders_policy_is_exactly_what_it_calls(recorded: Recorded) -> None:
    stack = recorded.stack
    jobs.receive_order(order())  # pending: its activation reminder is due 30 days before the deadline
    renewing = jobs.receive_order(order(order_id="4500099998")).subscription_id
    activate(stack, renewing)  # renews on 2027-11-26; its reminder is due from 2027-10-27
    stack.clock.advance(days=335)  # 2027-10-27: 30 days before the renewal; the pending one is past its deadline
    jobs.receive_order(order(order_id="4500099997", ordered_at="2027-08-28T09:30:00Z"))  # deadline 2027-11-26
    with Client(app, stage_name="dev") as client:
        recorded.cold_container()
        with RECORDER.recording(recorded.calls):
            summary = client.lambda_.invoke("send_reminders", _scheduled(client)).payload
    assert summary["queued"] == 2, summary
    _assert_exact("send_reminders", recorded.calls)


def test_process_renewals_policy_is_exactly_what_it_calls(recorded: Recorded) -> None:
    stack = recorded.stack
    renewing = jobs.receive_order(order()).subscription_id
    ending = jobs.receive_order(order(order_id="4500099998")).subscription_id
    activate(stack, renewing)
    activate(stack, ending)
    c = stack.container
    c.administration.set_cancellation(as_admin(c, ADMIN, ending), True)
    stack.clock.advance(days=366)  # past both renewal dates (2027-11-26)
    with Client(app, stage_name="dev") as client:
        recorded.cold_container()
        with RECORDER.recording(recorded.calls):
            summary = client.lambda_.invoke("process_renewals", _scheduled(client)).payload
    assert summary["queued"] == 2, summary
    _assert_exact("process_renewals", recorded.calls)


def _queued_work() -> list[str]:
    return take_all(shared_session().client("sqs", region_name=REGION), WORK)


def test_job_worker_policy_is_exactly_what_it_calls(recorded: Recorded) -> None:
    """The work of the fanned-out jobs: a renewal (invoice PDF kept in S3, emailed), an ending, an activation reminder
    (its link needs the secret) and a renewal reminder; plus a message no worker knows."""
    stack = recorded.stack
    c = stack.container
    renewing = jobs.receive_order(order()).subscription_id
    ending = jobs.receive_order(order(order_id="4500099998")).subscription_id
    activate(stack, renewing)
    activate(stack, ending)
    c.administration.set_cancellation(as_admin(c, ADMIN, ending), True)
    stack.clock.advance(days=366)  # 2027-11-27: past both renewal dates (2027-11-26)
    jobs.run_renewals()
    renewal_work = _queued_work()
    stack.clock.advance(days=-31)  # 2027-10-27: 30 days before the renewal; a pending order is 30 days from its end
    jobs.receive_order(order(order_id="4500099997", ordered_at="2027-08-28T09:30:00Z"))
    jobs.run_reminders()
    reminder_work = _queued_work()
    sent_before = len(stack.sent())
    with Client(app, stage_name="dev") as client:
        recorded.cold_container()
        with RECORDER.recording(recorded.calls):
            event = client.events.generate_sqs_event(message_bodies=reminder_work)
            reminded = client.lambda_.invoke("job_worker", event).payload
            stack.clock.advance(days=31)
            bodies = [*renewal_work, '{"job": "x", "items": []}']
            event = client.events.generate_sqs_event(message_bodies=bodies)
            renewed = client.lambda_.invoke("job_worker", event).payload
    assert reminded["batchItemFailures"] == [] and len(renewed["batchItemFailures"]) == 1  # the unknown job
    assert c.subscriptions.get_subscription(ending).status.value == "ended"
    assert len(c.invoices.list_invoices(renewing, 10, None)[0]) == 2
    # The activation reminder, the renewing and the ending one's renewal reminders, the invoice and the end notice.
    assert len(stack.sent()) - sent_before == 5, [m["Subject"] for m in stack.sent()[sent_before:]]
    _assert_exact("job_worker", recorded.calls)
