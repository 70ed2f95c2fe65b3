"""One transaction: a state change with its audit event and its outbox emails (and whatever a capability adds, such as
an invoice and its series counter), committed as one TransactWriteItems.

Stores build the operations from their codecs; every operation carries a label, and a cancelled transaction becomes a
`WriteConflict` naming the labels whose condition failed - the one place DynamoDB's cancellation reasons are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import outbox_items, schema
from chalicelib.domain.access import AuditEvent
from chalicelib.domain.errors import WriteConflict
from chalicelib.domain.outbox import OutboxMessage

MAX_OPERATIONS = 100  # DynamoDB's limit per transaction
_LOST = ("ConditionalCheckFailed", "TransactionConflict")


@dataclass(frozen=True)
class Condition:
    """A condition expression with its names and (plain Python) values."""

    expression: str
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def request(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ConditionExpression": self.expression}
        if self.names:
            out["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            out["ExpressionAttributeValues"] = schema.dump(self.values)
        return out


ABSENT = Condition("attribute_not_exists(PK)")
PRESENT = Condition("attribute_exists(PK)")


@dataclass(frozen=True)
class Operation:
    """One entry of TransactItems ({"Put": {...}} and so on), without the table name. Build with the functions
    below."""

    label: str
    entry: dict[str, dict[str, Any]]


def _condition(condition: Condition | None) -> dict[str, Any]:
    return condition.request() if condition is not None else {}


def put_new(label: str, item: schema.Item) -> Operation:
    """Creates an item that must not exist yet (an order, a token, an email, an invoice)."""
    return put(label, item, ABSENT)


def put(label: str, item: schema.Item, condition: Condition | None = None) -> Operation:
    return Operation(label, {"Put": {"Item": schema.dump(item), **_condition(condition)}})


def update(
    label: str,
    key: schema.Key,
    expression: str,
    condition: Condition | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Operation:
    """`names`/`values` serve the update expression; the condition brings its own (they are merged)."""
    merged = Condition(
        condition.expression if condition else "",
        {**(names or {}), **(condition.names if condition else {})},
        {**(values or {}), **(condition.values if condition else {})},
    ).request()
    if condition is None:
        del merged["ConditionExpression"]
    return Operation(label, {"Update": {"Key": schema.dump(key), "UpdateExpression": expression, **merged}})


def delete(label: str, key: schema.Key, condition: Condition | None = None) -> Operation:
    return Operation(label, {"Delete": {"Key": schema.dump(key), **_condition(condition)}})


def condition_check(label: str, key: schema.Key, condition: Condition) -> Operation:
    """Requires an item's state without changing it (a reminder needs its subscription still pending or active)."""
    return Operation(label, {"ConditionCheck": {"Key": schema.dump(key), **condition.request()}})


def record_event(event: AuditEvent, version: int) -> Operation:
    """The history entry of the change that takes the subscription to `version`. The transaction must also require
    the version it started from: then the event's place in the history is the commit order itself (a clock read
    before the write could order two racing changes the other way), and no two events can claim the same place."""
    return put_new("event", schema.event_item(event, version))


def queue_message(message: OutboxMessage) -> Operation:
    """The outbox entry (an email or a message on any other channel), in the same transaction as the change it reports
    (invariant 6); its id names the change, so a retried change can never queue a second copy. Labelled by channel."""
    return put_new(message.channel, outbox_items.message_item(message))


class UnitOfWork:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._operations: list[Operation] = []

    def add(self, *operations: Operation) -> UnitOfWork:
        self._operations.extend(operations)
        return self

    def record(self, event: AuditEvent, version: int) -> UnitOfWork:
        return self.add(record_event(event, version))

    def queue(self, messages: Sequence[OutboxMessage]) -> UnitOfWork:
        return self.add(*(queue_message(m) for m in messages))

    def commit(self) -> None:
        if not self._operations:
            return
        if len(self._operations) > MAX_OPERATIONS:
            raise ValueError(f"a transaction holds at most {MAX_OPERATIONS} operations")
        items = [
            {kind: {**body, "TableName": self._table} for kind, body in op.entry.items()} for op in self._operations
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            conflict = self._conflict(error)
            if conflict is None:
                raise
            raise conflict from None

    def _conflict(self, error: ClientError) -> WriteConflict | None:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            return None
        reasons = [str(r.get("Code", "None")) for r in error.response.get("CancellationReasons", [])]
        if not any(r in _LOST for r in reasons):
            return None  # throttling, validation: not a lost condition
        failed = frozenset(
            op.label
            for op, reason in zip(self._operations, reasons, strict=False)
            if reason == "ConditionalCheckFailed"
        )
        return WriteConflict(failed)
