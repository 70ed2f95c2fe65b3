"""Event and scheduled handlers' bodies: the app's decorators stay one line each."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from chalicelib.container import Container, get_container
from chalicelib.domain.errors import OrderRejected
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
    for record in records:
        message_id = record.to_dict().get("messageId", "")
        try:
            result = receive_order(record.body)
            log.info(
                json.dumps(
                    {"message_id": message_id, "outcome": result.outcome, "subscription_id": result.subscription_id}
                )
            )
        except OrderRejected as rejected:
            log.error(json.dumps({"message_id": message_id, "rejected": rejected.reasons}))
            failures.append({"itemIdentifier": message_id})
        except Exception:
            log.exception("order message %s failed; it will be retried", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def run_cleanup(context: Any = None) -> dict[str, object]:
    return get_container().cleanup.remove_unactivated(time_left_of(context)).as_dict()


def run_outbox(context: Any = None) -> dict[str, object]:
    return get_container().delivery.deliver_due(time_left_of(context)).as_dict()


def run_reminders(context: Any = None) -> dict[str, object]:
    return get_container().reminders.send_due(time_left_of(context)).as_dict()


JOBS = {"cleanup_unactivated": run_cleanup, "deliver_outbox": run_outbox}
JOBS["send_reminders"] = run_reminders


def run_renewals(context: Any = None) -> dict[str, object]:
    return get_container().renewals.process_due(time_left_of(context)).as_dict()


JOBS["process_renewals"] = run_renewals
