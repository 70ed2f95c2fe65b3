"""Event and scheduled handlers' bodies: the app's decorators stay one line each."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib import metrics
from chalicelib.container import Container, get_container
from chalicelib.domain.errors import OrderRejected
from chalicelib.observability import log_keys
from chalicelib.services.fanout import DispatchSummary
from chalicelib.services.intake import IntakeResult
from chalicelib.services.ports.common import TimeLeft

log = logging.getLogger(__name__)


def time_left_of(context: Any, budget_s: float = 840.0) -> TimeLeft:
    """Seconds until the Lambda times out (or a fixed budget where there is no Lambda context)."""
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: context.get_remaining_time_in_millis() / 1000.0
    started = time.monotonic()
    return lambda: budget_s - (time.monotonic() - started)


def receive_order(body: str | bytes | dict[str, Any], container: Container | None = None) -> IntakeResult:
    return (container or get_container()).intake.receive_order(body)


def intake_batch(records: Iterable[Any]) -> dict[str, list[dict[str, str]]]:
    """Partial batch response: a bad message is retried and dead-lettered alone; the good ones are done."""
    failures: list[dict[str, str]] = []
    telemetry = get_container().telemetry
    for record in records:
        message_id = record.to_dict().get("messageId", "")
        with log_keys(correlation_id=message_id):
            try:
                result = receive_order(record.body)
            except OrderRejected as rejected:
                telemetry.count(metrics.ORDERS_REJECTED, reason="invalid")
                reasons = rejected.reasons
                log.error("order message %s rejected: %s", message_id, "; ".join(reasons), extra={"rejected": reasons})
                failures.append({"itemIdentifier": message_id})
                continue
            except Exception:
                telemetry.count(metrics.ORDERS_REJECTED, reason="error")
                log.exception("order message %s failed; it will be retried", message_id)
                failures.append({"itemIdentifier": message_id})
                continue
            if result.outcome == "created":
                telemetry.count(metrics.ORDERS_ACCEPTED)
            elif result.outcome == "expired":
                telemetry.count(metrics.ORDERS_REJECTED, reason="past_deadline")
            log.info(
                "order message %s: %s",
                message_id,
                result.outcome,
                extra={"outcome": result.outcome, "subscription_id": result.subscription_id or ""},
            )
    return {"batchItemFailures": failures}


def _timed_job(name: str, run: Callable[[TimeLeft], Any], context: Any) -> Any:
    """A scheduled run with its duration and, only when it finished all its work, its JobCompleted heartbeat."""
    telemetry = get_container().telemetry
    started = time.monotonic()
    try:
        summary = run(time_left_of(context))
    finally:
        telemetry.seconds(metrics.JOB_DURATION, time.monotonic() - started, job=name)
    if summary.complete:
        telemetry.count(metrics.JOB_COMPLETED, job=name)
    else:
        telemetry.count(metrics.JOB_STOPPED_EARLY, job=name)
    return summary


def _dispatching_job(name: str, run: Callable[[TimeLeft], DispatchSummary], context: Any) -> dict[str, object]:
    """A scheduled run that queues its work for the job_worker function (services/fanout.py)."""
    summary: DispatchSummary = _timed_job(name, run, context)
    get_container().telemetry.count(metrics.WORK_ITEMS_QUEUED, summary.queued, job=name)
    (log.info if summary.complete else log.warning)("%s run: %s", name, summary.as_dict())
    return summary.as_dict()


def run_cleanup(context: Any = None) -> dict[str, object]:
    container = get_container()
    summary = _timed_job(metrics.CLEANUP_UNACTIVATED, container.cleanup.remove_unactivated, context)
    container.telemetry.count(metrics.UNACTIVATED_REMOVED, summary.removed)
    result: dict[str, object] = summary.as_dict()
    return result


def run_outbox(context: Any = None) -> dict[str, object]:
    """Succeeds even when SES refuses every email (retrying is the outbox's job): the metrics make the alarms fire."""
    container = get_container()
    summary = _timed_job(metrics.DELIVER_OUTBOX, container.delivery.deliver_due, context)
    telemetry = container.telemetry
    telemetry.count(metrics.OUTBOX_BACKLOG, summary.backlog)
    telemetry.seconds(metrics.OUTBOX_OLDEST_UNSENT_AGE, summary.oldest_due_age_s)
    if summary.failed:
        log.warning("outbox run: %s", summary.as_dict())
    else:
        log.info("outbox run: %s", summary.as_dict())
    result: dict[str, object] = summary.as_dict()
    return result


def run_reminders(context: Any = None) -> dict[str, object]:
    return _dispatching_job(metrics.SEND_REMINDERS, get_container().reminders.dispatch_due, context)


def run_renewals(context: Any = None) -> dict[str, object]:
    return _dispatching_job(metrics.PROCESS_RENEWALS, get_container().renewals.dispatch_due, context)


JOBS = {
    metrics.CLEANUP_UNACTIVATED: run_cleanup,
    metrics.DELIVER_OUTBOX: run_outbox,
    metrics.SEND_REMINDERS: run_reminders,
    metrics.PROCESS_RENEWALS: run_renewals,
}


def work_batch(records: Iterable[Any]) -> dict[str, list[dict[str, str]]]:
    """The job_worker function: each message's items done by its job's worker. Partial batch response: a message that
    failed midway is delivered again alone (its items already done change nothing then) and dead-lettered after the
    queue's maxReceiveCount."""
    from chalicelib.services.fanout import InvalidWorkMessage, WorkNotDone

    container = get_container()
    failures: list[dict[str, str]] = []
    for record in records:
        message_id = record.to_dict().get("messageId", "")
        done = Counter[str]()
        with log_keys(correlation_id=message_id):
            try:
                job = container.workers.run(record.body, done)
            except WorkNotDone as not_done:
                job = not_done.job
                what = "refused" if isinstance(not_done, InvalidWorkMessage) else "not all done"
                log.error("work message %s %s: %s; it is delivered again", message_id, what, not_done,
                          extra={"job": job, "done": done})  # fmt: skip
                failures.append({"itemIdentifier": message_id})
                container.telemetry.count(metrics.WORK_MESSAGES_FAILED, job=job)
            except Exception:  # a message nobody foresaw fails alone: the rest of the batch is done
                job = "unknown"
                log.exception("work message %s failed; it is delivered again", message_id, extra={"job": job})
                failures.append({"itemIdentifier": message_id})
                container.telemetry.count(metrics.WORK_MESSAGES_FAILED, job=job)
            else:
                log.info("work message %s (%s): %s", message_id, job, dict(done), extra={"job": job, "done": done})
            _count_work(container.telemetry, job, done)  # the items done before a failure too: not done again
    return {"batchItemFailures": failures}


def _count_work(telemetry: Any, job: str, done: Counter[str]) -> None:
    """What a worker did (Renewals.settle, Reminders.send counts), as the business metrics."""
    if job == metrics.PROCESS_RENEWALS:
        telemetry.count(metrics.SUBSCRIPTIONS_RENEWED, done["renewed"])
        telemetry.count(metrics.SUBSCRIPTIONS_ENDED, done["ended"])
        telemetry.count(metrics.INVOICES_ISSUED, done["invoices"])
    elif job == metrics.SEND_REMINDERS:
        telemetry.count(metrics.REMINDERS_SENT, done["activation_reminders"], kind="activation")
        telemetry.count(metrics.REMINDERS_SENT, done["renewal_reminders"], kind="renewal")


def record_mail_notice(event: dict[str, Any]) -> dict[str, str]:
    """One SNS message from MailEventsTopic (SNS invokes Lambda with one record). A message that is not a notice is
    logged and dropped (retrying cannot help); a storage failure raises, so Lambda delivers the message again."""
    from chalicelib.adapters.ses_notices import NotAMailNotice, parse_notice

    sns = event["Records"][0]["Sns"]
    message, message_id = str(sns.get("Message", "")), str(sns.get("MessageId", ""))
    try:
        notice = parse_notice(message, message_id)
    except NotAMailNotice as refused:
        log.warning("message %s on the mail events topic ignored: %s", message_id, refused)
        return {"outcome": "ignored"}
    return {"outcome": get_container().mail_notices.record(notice)}
