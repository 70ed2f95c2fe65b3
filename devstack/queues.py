"""The SQS queues (the orders queue, the jobs' work queue) and their dead-letter queues, created from infra's
definitions, and a consumer that plays Lambda's SQS event source mapping: batches into the app's own handler
(`intake_orders`, `job_worker`), partial batch failures (the successful messages are deleted, the failed ones become
visible again after the visibility timeout) and SQS's redrive to the dead-letter queue after the RedrivePolicy's
maxReceiveCount.

The only local difference: a visibility timeout of a few seconds (infra sizes it for the Lambda's timeout), so a bad
message reaches the dead-letter queue within a minute.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from devstack.scheduler import BackgroundLoop
from infra.tables import template

log = logging.getLogger("devstack.queues")


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str  # infra/resources.json
    dead_letter_logical_id: str
    name: str  # app.py: @app.on_sqs_message(queue=...)
    dead_letter_name: str
    batch_size: int  # app.py: batch_size=...


ORDERS = QueueSpec("OrdersQueue", "OrdersDeadLetterQueue", "subscription-portal-orders",
                   "subscription-portal-orders-dlq", 10)
WORK = QueueSpec("WorkQueue", "WorkDeadLetterQueue", "subscription-portal-work", "subscription-portal-work-dlq", 4)
LOCAL_VISIBILITY_TIMEOUT_S = 5
LONG_POLL_S = 1  # also the longest a stop waits for the consumer
_INFRA_ATTRIBUTES = ("MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "MaximumMessageSize",
                     "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled")


@dataclass(frozen=True)
class Queues:
    url: str
    arn: str
    dead_letter_url: str
    dead_letter_arn: str
    max_receive_count: int
    visibility_timeout_s: int
    batch_size: int


def _properties(logical_id: str) -> dict[str, Any]:
    resource = template()["Resources"][logical_id]
    assert resource["Type"] == "AWS::SQS::Queue", f"{logical_id} is not a queue in infra/resources.json"
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


def _attributes(properties: dict[str, Any]) -> dict[str, str]:
    return {name: str(properties[name]).lower() if isinstance(properties[name], bool) else str(properties[name])
            for name in _INFRA_ATTRIBUTES if name in properties}


def create_queues(sqs: Any, visibility_timeout_s: int = LOCAL_VISIBILITY_TIMEOUT_S,
                  max_receive_count: int | None = None, spec: QueueSpec = ORDERS) -> Queues:
    """The queue and its dead-letter queue as infra defines them; the RedrivePolicy's target resolved to the local
    dead-letter queue's ARN. `max_receive_count` None keeps infra's."""
    dead_letter_url = sqs.create_queue(QueueName=spec.dead_letter_name,
                                       Attributes=_attributes(_properties(spec.dead_letter_logical_id)))["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url,
                                               AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    properties = _properties(spec.logical_id)
    redrive = properties["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [spec.dead_letter_logical_id, "Arn"]}, redrive
    receives = max_receive_count or int(redrive["maxReceiveCount"])
    attributes = {
        **_attributes(properties),
        "VisibilityTimeout": str(visibility_timeout_s),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": receives}),
    }
    url = sqs.create_queue(QueueName=spec.name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queues(url, arn, dead_letter_url, dead_letter_arn, receives, visibility_timeout_s, spec.batch_size)


def existing_queues(sqs: Any, spec: QueueSpec) -> Queues:
    """The queues `create_queues` made earlier (the tests', the benchmark's), read back by name."""
    url = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    dead_letter_url = sqs.get_queue_url(QueueName=spec.dead_letter_name)["QueueUrl"]
    return Queues(url, attributes["QueueArn"], dead_letter_url, redrive["deadLetterTargetArn"],
                  int(redrive["maxReceiveCount"]), int(attributes["VisibilityTimeout"]), spec.batch_size)


def take_all(sqs: Any, spec: QueueSpec) -> list[str]:
    """Every message on the queue, taken off it (a test then hands the bodies to the handler itself)."""
    url = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


_counted_in = threading.local()
_counting_lock = threading.Lock()


@contextmanager
def worker_counts(workers: Any) -> Iterator[Counter[str]]:
    """What the job_worker handler's items report (the counts `Workers.run` fills) while this thread runs the block:
    the console's and the tests' job summaries. Runs in other threads are not counted here."""
    with _counting_lock:  # wrap each Workers once, whichever thread comes first
        if not getattr(workers, "counted_by_devstack", False):
            real_run = workers.run

            def counting(body: str, done: Counter[str]) -> str:
                try:
                    return str(real_run(body, done))
                finally:
                    target = getattr(_counted_in, "done", None)
                    if target is not None:
                        target.update(done)

            workers.run = counting
            workers.counted_by_devstack = True
    _counted_in.done = done = Counter[str]()
    try:
        yield done
    finally:
        _counted_in.done = None


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """ReceiveMessage's messages as the SQS event Lambda hands the function."""
    return {"Records": [
        {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
        for message in messages
    ]}


def failed_ids(response: Any, batch_ids: list[str]) -> set[str]:
    """The messages Lambda would leave on the queue for this function response: the listed batchItemFailures; all of
    them when the response is malformed or names a message that was not in the batch."""
    try:
        failures = {str(failure["itemIdentifier"]) for failure in (response or {}).get("batchItemFailures", [])}
    except (AttributeError, KeyError, TypeError):
        return set(batch_ids)
    return failures if failures <= set(batch_ids) else set(batch_ids)


class QueueConsumer(BackgroundLoop):
    """One poller thread: receive a batch, run the handler, delete what succeeded."""

    def __init__(self, sqs: Any, queues: Queues, handler: Any, region: str, label: str = "orders") -> None:
        self._sqs = sqs
        self._queues = queues
        self._handler = handler
        self._region = region
        self._label = label
        self.lock = threading.Lock()  # held per poll: `drain` under it sees every message the others queued
        super().__init__(f"devstack-{label}-consumer")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with self.lock:
                    self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling the %s queue failed; trying again", self._label)
                self._stop.wait(LONG_POLL_S)

    def poll_once(self, wait_s: int = LONG_POLL_S) -> int:
        """Receives and handles one batch; returns how many messages it received."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queues.url, MaxNumberOfMessages=self._queues.batch_size, WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        ids = [message["MessageId"] for message in messages]
        try:
            response = self._handler(lambda_event(messages, self._queues.arn, self._region), None)
        except Exception:
            log.exception("the %s handler failed for a whole batch; every message becomes visible again", self._label)
            return len(messages)
        failed = failed_ids(response, ids)
        done = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
                if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self._queues.url, Entries=done)
        if failed:
            log.warning("%s batch: %d done, %d failed (retried after %ss, dead-lettered after %d receives)",
                        self._label, len(done), len(failed), self._queues.visibility_timeout_s,
                        self._queues.max_receive_count)
        return len(messages)

    def drain(self) -> int:
        """Handles batches until the queue has nothing visible (no long poll); returns how many messages it received.
        Call it holding `lock` (the poller thread then waits)."""
        received = 0
        while batch := self.poll_once(wait_s=0):
            received += batch
        return received
