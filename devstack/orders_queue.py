"""The orders queue and its dead-letter queue, created from infra's definitions, and a consumer that plays Lambda's SQS
event source mapping: batches of up to `BATCH_SIZE` into the app's own `intake_orders` handler, partial batch
failures (the successful messages are deleted, the failed ones become visible again after the visibility timeout) and
SQS's redrive to the dead-letter queue after the RedrivePolicy's maxReceiveCount.

The only local difference: a visibility timeout of a few seconds (infra has 360, sized for the Lambda's timeout), so a
bad message reaches the dead-letter queue within a minute.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from devstack.scheduler import BackgroundLoop
from infra.tables import template

log = logging.getLogger("devstack.orders")

ORDERS_QUEUE = "OrdersQueue"
DEAD_LETTER_QUEUE = "OrdersDeadLetterQueue"
QUEUE_NAME = "subscription-portal-orders"  # app.py: @app.on_sqs_message(queue=...)
DEAD_LETTER_QUEUE_NAME = "subscription-portal-orders-dlq"
BATCH_SIZE = 10  # app.py: batch_size=10
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


def _properties(logical_id: str) -> dict[str, Any]:
    resource = template()["Resources"][logical_id]
    assert resource["Type"] == "AWS::SQS::Queue", f"{logical_id} is not a queue in infra/resources.json"
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


def _attributes(properties: dict[str, Any]) -> dict[str, str]:
    return {name: str(properties[name]).lower() if isinstance(properties[name], bool) else str(properties[name])
            for name in _INFRA_ATTRIBUTES if name in properties}


def create_queues(sqs: Any, visibility_timeout_s: int = LOCAL_VISIBILITY_TIMEOUT_S,
                  max_receive_count: int | None = None) -> Queues:
    """Both queues as infra defines them; the RedrivePolicy's target resolved to the local dead-letter queue's ARN.
    `max_receive_count` None keeps infra's."""
    dead_letter_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE_NAME,
                                       Attributes=_attributes(_properties(DEAD_LETTER_QUEUE)))["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url,
                                               AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    properties = _properties(ORDERS_QUEUE)
    redrive = properties["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]}, redrive
    receives = max_receive_count or int(redrive["maxReceiveCount"])
    attributes = {
        **_attributes(properties),
        "VisibilityTimeout": str(visibility_timeout_s),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": receives}),
    }
    url = sqs.create_queue(QueueName=QUEUE_NAME, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queues(url, arn, dead_letter_url, dead_letter_arn, receives, visibility_timeout_s)


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


class OrdersConsumer(BackgroundLoop):
    """One poller thread: receive a batch, run the handler, delete what succeeded."""

    def __init__(self, sqs: Any, queues: Queues, handler: Any, region: str) -> None:
        self._sqs = sqs
        self._queues = queues
        self._handler = handler
        self._region = region
        super().__init__("devstack-orders-consumer")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling the orders queue failed; trying again")
                self._stop.wait(LONG_POLL_S)

    def poll_once(self) -> int:
        """Receives and handles one batch; returns how many messages it received."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queues.url, MaxNumberOfMessages=BATCH_SIZE, WaitTimeSeconds=LONG_POLL_S,
            MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        ids = [message["MessageId"] for message in messages]
        try:
            response = self._handler(lambda_event(messages, self._queues.arn, self._region), None)
        except Exception:
            log.exception("the intake handler failed for a whole batch; every message becomes visible again")
            return len(messages)
        failed = failed_ids(response, ids)
        done = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
                if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self._queues.url, Entries=done)
        if failed:
            log.warning("orders batch: %d done, %d failed (retried after %ss, dead-lettered after %d receives)",
                        len(done), len(failed), self._queues.visibility_timeout_s, self._queues.max_receive_count)
        return len(messages)
