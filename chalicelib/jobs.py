"""Event and scheduled handlers' bodies: the app's decorators stay one line each."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from chalicelib.container import Container, get_container
from chalicelib.domain.errors import OrderRejected
from chalicelib.services import cleanup, intake
from chalicelib.services.ports import TimeLeft

log = logging.getLogger(__name__)


def time_left_of(context: Any, budget_s: float = 840.0) -> TimeLeft:
    """Seconds until the Lambda times out (or a fixed budget where there is no Lambda context)."""
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: context.get_remaining_time_in_millis() / 1000.0
    started = time.monotonic()
    return lambda: budget_s - (time.monotonic() - started)


def receive_order(body: str | bytes | dict[str, Any], container: Container | None = None) -> intake.IntakeResult:
    c = container or get_container()
    return intake.receive_order(
        body, repo=c.repo, clock=c.clock, agreements=c.agreements, link_secret=c.link_secret, delivery=c.delivery
    )


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
    c = get_container()
    return cleanup.cleanup_unactivated(repo=c.repo, clock=c.clock, time_left=time_left_of(context)).as_dict()


def run_outbox(context: Any = None) -> dict[str, object]:
    c = get_container()
    summary: dict[str, object] = c.delivery.deliver_due(time_left_of(context)).as_dict()
    return summary


JOBS = {"cleanup_unactivated": run_cleanup, "deliver_outbox": run_outbox}
