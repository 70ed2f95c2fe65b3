"""Issue 8: what operations sees. JSON log lines with the invocation's correlation ids, and the metrics (CloudWatch
EMF) the alarms in infra/ watch: a stalled outbox, a cleanup cut short and an API failure all leave a number behind,
even when the function itself succeeds."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice.local import LambdaContext
from chalice.test import Client

from app import app
from chalicelib import jobs, metrics
from chalicelib.observability import json_handler
from chalicelib.services.emails import DELIVERY_GRACE
from tests.emf import Emitted
from tests.support import ADMIN, ORDER, REGION, Stack, activate, as_admin, order, shared_session


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """The JSON lines the Lambda runtime's handler would write, parsed."""

    class Collect(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.INFO)
            self.parsed: list[dict[str, Any]] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.parsed.append(json.loads(self.format(record)))

    handler = Collect()
    json_handler(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield handler.parsed
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _scheduled(client: Client) -> dict[str, Any]:
    return client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])


def _ses_down(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> None:
    def refuse(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded"}}, "SendRawEmail")

    monkeypatch.setattr(stack.container.mailer._client, "send_raw_email", refuse)


@pytest.fixture
def lambda_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # chalice's test context says 3 s are left, less than the jobs' stop margin: give them a deployed run's time.
    monkeypatch.setattr(LambdaContext, "get_remaining_time_in_millis", lambda _: 60_000.0)


# -- the outbox: SES keeps failing, the function succeeds, the alarms' metrics say so --------------------------------
def test_ses_down_the_outbox_run_succeeds_and_its_metrics_show_the_stall(
    stack: Stack, emf: Emitted, monkeypatch: pytest.MonkeyPatch, lambda_time: None
) -> None:
    _ses_down(monkeypatch, stack)
    jobs.receive_order(ORDER)  # the request's own attempt fails: one failure, the email waits in the outbox
    jobs.receive_order(order(order_id="4500099998"))
    stack.container.telemetry.flush()
    assert emf.total(metrics.EMAILS_FAILED) == 2 and emf.total(metrics.EMAILS_SENT) == 0

    stack.clock.advance(minutes=20)
    with Client(app, stage_name="dev") as client:
        summary = client.lambda_.invoke("deliver_outbox", _scheduled(client)).payload
    assert (summary["sent"], summary["failed"], summary["complete"]) == (0, 2, True)  # no exception: retried later
    assert emf.total(metrics.EMAILS_FAILED) == 4  # the EmailsFailedAlarm counts every refused attempt
    assert emf.total(metrics.EMAILS_RETRIED) == 2
    assert emf.values(metrics.OUTBOX_BACKLOG) == [2]
    (age,) = emf.values(metrics.OUTBOX_OLDEST_UNSENT_AGE)
    assert age == (timedelta(minutes=20) - DELIVERY_GRACE).total_seconds()  # due since the request's grace ended
    assert age > 900  # above the OutboxBacklogAlarm's threshold
    assert emf.values(metrics.JOB_COMPLETED, job=metrics.DELIVER_OUTBOX) == [1]  # the run itself did all it could
    assert len(emf.values(metrics.JOB_DURATION, job=metrics.DELIVER_OUTBOX)) == 1


def test_healthy_outbox_run_reports_an_empty_backlog(stack: Stack, emf: Emitted, lambda_time: None) -> None:
    jobs.receive_order(ORDER)
    with Client(app, stage_name="dev") as client:
        client.lambda_.invoke("deliver_outbox", _scheduled(client))
    assert emf.total(metrics.EMAILS_SENT) == 1  # the request sent it
    assert emf.values(metrics.OUTBOX_OLDEST_UNSENT_AGE) == [0]
    assert emf.values(metrics.OUTBOX_BACKLOG) == [0]
    assert emf.values(metrics.JOB_COMPLETED, job=metrics.DELIVER_OUTBOX) == [1]


# -- jobs cut short: no heartbeat, a warning --------------------------------------------------------------------------
def test_cleanup_cut_short_sends_no_heartbeat_and_logs_a_warning(
    stack: Stack, emf: Emitted, monkeypatch: pytest.MonkeyPatch, log_lines: list[dict[str, Any]]
) -> None:
    ids = [jobs.receive_order(order(order_id=f"45000000{n:02d}")).subscription_id for n in range(3)]
    stack.clock.advance(days=91)

    def time_left() -> float:
        # Time runs out once the first subscription is gone, whichever shards the random ids land in (a fixed count
        # of time checks depended on that layout)
        still_there = sum(stack.container.subscriptions.get_subscription(i) is not None for i in ids)
        return 900.0 if still_there == len(ids) else 1.0

    monkeypatch.setattr(jobs, "time_left_of", lambda context, budget_s=840.0: time_left)
    summary = jobs.run_cleanup()
    stack.container.telemetry.flush()
    assert summary["complete"] is False and summary["removed"] == 1
    assert emf.values(metrics.JOB_COMPLETED, job=metrics.CLEANUP_UNACTIVATED) == []
    assert emf.values(metrics.JOB_STOPPED_EARLY, job=metrics.CLEANUP_UNACTIVATED) == [1]
    assert emf.total(metrics.UNACTIVATED_REMOVED) == summary["removed"]
    warnings = [line for line in log_lines if line["level"] == "WARNING" and "stopped before" in line["message"]]
    assert len(warnings) == 1, log_lines


def test_complete_cleanup_sends_its_heartbeat(stack: Stack, emf: Emitted, lambda_time: None) -> None:
    jobs.receive_order(ORDER)
    stack.clock.advance(days=91)
    with Client(app, stage_name="dev") as client:
        summary = client.lambda_.invoke("cleanup_unactivated", _scheduled(client)).payload
    assert summary["removed"] == 1
    assert emf.values(metrics.JOB_COMPLETED, job=metrics.CLEANUP_UNACTIVATED) == [1]
    assert emf.values(metrics.UNACTIVATED_REMOVED) == [1]


def test_renewals_queue_their_work_and_the_worker_counts_what_it_did(
    stack: Stack, emf: Emitted, lambda_time: None
) -> None:
    renewing = jobs.receive_order(order()).subscription_id
    ending = jobs.receive_order(order(order_id="4500000088")).subscription_id
    activate(stack, renewing)
    activate(stack, ending)
    stack.container.administration.set_cancellation(as_admin(stack.container, ADMIN, ending), True)
    stack.clock.advance(days=366)
    with Client(app, stage_name="dev") as client:
        summary = client.lambda_.invoke("process_renewals", _scheduled(client)).payload
        assert (summary["queued"], summary["complete"]) == (2, True)
        event = client.events.generate_sqs_event(message_bodies=_work_messages())
        assert client.lambda_.invoke("job_worker", event).payload == {"batchItemFailures": []}
    assert emf.values(metrics.JOB_COMPLETED, job=metrics.PROCESS_RENEWALS) == [1]
    assert emf.values(metrics.WORK_ITEMS_QUEUED, job=metrics.PROCESS_RENEWALS) == [2]
    assert emf.total(metrics.SUBSCRIPTIONS_RENEWED) == emf.total(metrics.SUBSCRIPTIONS_ENDED) == 1
    assert emf.total(metrics.INVOICES_ISSUED) == 3  # the two activations' and the renewal's


def _work_messages() -> list[str]:
    from devstack.queues import WORK, take_all

    return take_all(shared_session().client("sqs", region_name=REGION), WORK)


# -- intake and activations --------------------------------------------------------------------------------------------
def test_intake_counts_accepted_and_rejected_orders_by_reason(
    stack: Stack, emf: Emitted, log_lines: list[dict[str, Any]]
) -> None:
    late = order(order_id="4500000077", ordered_at="2026-01-01T00:00:00Z")
    bodies = [json.dumps(order()), json.dumps(order()), json.dumps(order(order_id="")), json.dumps(late)]
    with Client(app, stage_name="dev") as client:
        event = client.events.generate_sqs_event(message_bodies=bodies)
        response = client.lambda_.invoke("intake_orders", event).payload
    assert len(response["batchItemFailures"]) == 1
    assert emf.total(metrics.ORDERS_ACCEPTED) == 1  # the second copy is a redelivery, not a new order
    assert emf.total(metrics.ORDERS_REJECTED, reason="invalid") == 1
    assert emf.total(metrics.ORDERS_REJECTED, reason="past_deadline") == 1
    message_ids = {r["messageId"] for r in event["Records"]}
    outcomes = [line for line in log_lines if line.get("outcome")]
    assert {line["correlation_id"] for line in outcomes} <= message_ids and len(outcomes) == 3
    created = next(line for line in outcomes if line["outcome"] == "created")
    assert created["subscription_id"] and created["level"] == "INFO"
    rejected = next(line for line in log_lines if line.get("rejected"))
    assert rejected["level"] == "ERROR" and rejected["correlation_id"] in message_ids


def test_activations_are_counted_by_channel(stack: Stack, emf: Emitted, pending: str) -> None:
    activate(stack, pending)
    stack.container.telemetry.flush()
    assert emf.values(metrics.ACTIVATIONS, channel="portal") == [1]
    assert emf.values(metrics.ACTIVATIONS, channel="email_link") == []


# -- the API: 4xx/5xx by route template, an unexpected error at ERROR with the request id ---------------------------
def test_api_errors_are_counted_by_route_template_and_logged_with_the_request_id(
    stack: Stack, emf: Emitted, active: str, monkeypatch: pytest.MonkeyPatch, log_lines: list[dict[str, Any]]
) -> None:
    auth = stack.issuer.bearer(ADMIN, "FR")
    with Client(app, stage_name="dev") as client:
        assert client.http.get(f"/subscriptions/{active}", headers=auth).status_code == 200
        assert client.http.get("/subscriptions/not-a-subscription-id", headers=auth).status_code == 404
        assert client.http.get(f"/subscriptions/{active}").status_code == 401

        class Broken:
            def __getattr__(self, name: str) -> Any:
                raise RuntimeError("injected failure")

        monkeypatch.setitem(stack.container.__dict__, "access", Broken())
        failed = client.http.get(f"/subscriptions/{active}/users", headers=auth)
    assert failed.status_code == 500
    route = "GET /subscriptions/{subscription_id}"
    assert emf.total(metrics.API_CLIENT_ERRORS, route=route) == 2  # the raw path (an id) is never a dimension
    assert emf.total(metrics.API_SERVER_ERRORS, route="GET /subscriptions/{subscription_id}/users") == 1
    assert emf.values(metrics.API_SERVER_ERRORS, route=route) == []
    errors = [line for line in log_lines if line["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["exception_name"] == "RuntimeError"
    assert errors[0]["correlation_id"] and errors[0]["subscription_id"] == active
    assert errors[0]["service"] == "subscription-portal"


def test_emf_lines_have_the_dimensions_the_alarms_watch(emf: Emitted, stack: Stack) -> None:
    telemetry = stack.container.telemetry
    telemetry.count(metrics.JOB_COMPLETED, job=metrics.DELIVER_OUTBOX)
    telemetry.count(metrics.EMAILS_FAILED)
    telemetry.count(metrics.EMAILS_FAILED)
    telemetry.flush()
    telemetry.flush()  # nothing new: nothing written
    blobs = {tuple(b["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]): b for b in emf.blobs()}
    assert set(blobs) == {("job",), ()} and len(emf.lines) == 2
    assert blobs[("job",)]["job"] == "deliver_outbox" and blobs[("job",)]["JobCompleted"] == [1.0]
    assert blobs[()]["EmailsFailed"] == [1.0, 1.0]
    assert "service" not in blobs[()]


def test_a_busy_invocation_writes_every_value_through_its_writer(
    emf: Emitted, stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker renewing 100 subscriptions counts 100 values of one metric: EMF takes at most 100 per line, and
    Powertools would print a full set itself, past the writer (the tests', the benchmark's)."""
    telemetry = stack.container.telemetry
    for _ in range(250):
        telemetry.count(metrics.SUBSCRIPTIONS_RENEWED)
    telemetry.flush()
    assert emf.total(metrics.SUBSCRIPTIONS_RENEWED) == 250 and len(emf.lines) == 3
    assert '"_aws"' not in capsys.readouterr().out


def test_the_invoice_pdf_libraries_log_no_info_lines(stack: Stack, log_lines: list[dict[str, Any]]) -> None:
    """fontTools and factur-x log some 40 INFO lines per invoice; a renewal day would be millions of them."""
    from chalicelib.observability import configure_logging

    configure_logging()
    subscription_id = jobs.receive_order(order()).subscription_id
    activate(stack, subscription_id)  # issues the first invoice, rendered for its email
    assert [line for line in log_lines if line.get("name", "").startswith(("fontTools", "factur-x"))] == []
    assert any("invoice" in line["message"] for line in log_lines)
