"""The jobs' fan-out on moto, for the job sections: the work queue from infra, the scheduled run (phase "dispatch"),
then the job_worker function (phase "worker") fed by a stand-in for Lambda's event source mapping (phase "mapping":
its ReceiveMessage and DeleteMessageBatch calls are SQS requests the stack pays for too)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from bench.provision import REGION
from bench.recorder import Call, CountingContainer


def with_work_queue(env: dict[str, str]) -> dict[str, str]:
    """The work queue and its dead-letter queue as infra defines them (inside an active mock_aws)."""
    from devstack.queues import WORK, create_queues

    queues = create_queues(boto3.client("sqs", region_name=REGION), 30, spec=WORK)
    return {**env, "WORK_QUEUE_URL": queues.url}


def metric_total(lines: list[str], metric: str) -> float:
    """The sum of `metric`'s values in these EMF lines, whatever their dimensions."""
    import json

    total = 0.0
    for line in lines:
        value = json.loads(line).get(metric, 0)
        total += sum(value) if isinstance(value, list) else value
    return total


def quiet_telemetry(container: CountingContainer) -> list[str]:
    """The container's metrics go to the returned list instead of stdout (the report stays readable)."""
    from chalicelib.adapters.telemetry import EmfTelemetry

    lines: list[str] = []
    container.__dict__["telemetry"] = EmfTelemetry(write=lines.append)  # before any use case takes it
    return lines


@dataclass
class FanOut:
    summary: dict[str, Any]
    messages: int  # work messages the mapping handed to the worker
    dispatch_s: float
    work_s: float
    dispatch_calls: list[Call]
    worker_calls: list[Call]  # the worker's own calls, the immediate emails included (phase "email")
    mapping_calls: list[Call]


def fan_out(container: CountingContainer, dispatch: Callable[[Callable[[], float]], Any]) -> FanOut:
    import logging

    from app import job_worker
    from chalicelib.container import use_container
    from devstack.queues import WORK, QueueConsumer, existing_queues

    recorder = container.recorder
    use_container(container)  # the job_worker handler's get_container()
    logging.disable(logging.INFO)  # the functions' INFO lines (one or two per item) would bury the report
    try:
        recorder.reset()
        with recorder.labelled("dispatch"):
            started = time.perf_counter()
            summary = dispatch(lambda: 900.0).as_dict()
            dispatch_s = time.perf_counter() - started
        sqs = recorder.attach(boto3.client("sqs", region_name=REGION))
        queues = existing_queues(sqs, WORK)
        with recorder.labelled("worker"):
            started = time.perf_counter()
            messages = QueueConsumer(sqs, queues, job_worker, REGION, "work").drain()
            work_s = time.perf_counter() - started
    finally:
        logging.disable(logging.NOTSET)
        use_container(None)
    calls = recorder.calls
    return FanOut(
        summary,
        messages,
        dispatch_s,
        work_s,
        [c for c in calls if c.phase == "dispatch"],
        [c for c in calls if c.phase in ("worker", "email") and c.service != "sqs"],
        [c for c in calls if c.phase == "worker" and c.service == "sqs"],
    )
