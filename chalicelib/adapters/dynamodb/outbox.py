"""The outbox's entries after they were queued (by a unit of work): due ones, claims, sent and failed marks."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.outbox_items import due_key, message_from
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import Condition
from chalicelib.domain.models import utc_iso
from chalicelib.domain.outbox import OutboxMessage


def _still_due_at(message: OutboxMessage) -> Condition:
    """Nobody claimed, sent or rescheduled the entry since it was read."""
    return Condition("OBSK = :expected", values={":expected": due_key(message.due_at, message.message_id)})


class DynamoOutboxStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def due_messages(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """The `limit` longest-due messages of all channels: each shard's oldest, merged (one query per shard)."""
        due: list[schema.Item] = []
        for partition in schema.shards(schema.UNSENT_PARTITION):
            items, _ = self._table.query(
                IndexName="unsent_emails",
                KeyConditionExpression="OBPK = :pk AND OBSK < :bound",
                ExpressionAttributeValues={":pk": {"S": partition}, ":bound": {"S": utc_iso(now) + "~"}},
                Limit=limit,
            )
            due += items
        return [message_from(i) for i in sorted(due, key=lambda item: str(item["OBSK"]))[:limit]]

    def claim(self, message: OutboxMessage, lease_until: datetime) -> OutboxMessage | None:
        item = self._table.update_if(
            schema.mail_key(message.message_id),
            "SET OBSK = :lease, due_at = :due",
            _still_due_at(message),
            values={":lease": due_key(lease_until, message.message_id), ":due": utc_iso(lease_until)},
            return_new=True,
        )
        return message_from(item) if item is not None else None

    def mark_sent(self, message: OutboxMessage, provider_id: str, now: datetime) -> bool:
        done = self._table.update_if(
            schema.mail_key(message.message_id),
            "SET #s = :sent, sent_at = :now, provider_message_id = :pid, expires_at_epoch = :ttl REMOVE OBPK, OBSK",
            _still_due_at(message),
            names={"#s": "status"},
            values={
                ":sent": "sent",
                ":now": utc_iso(now),
                ":pid": provider_id,
                ":ttl": schema.epoch(now + schema.SENT_MAIL_RETENTION),
            },
        )
        return done is not None

    def mark_failed(self, message: OutboxMessage, error: str, retry_at: datetime) -> None:
        """Losing the condition means another run already took the entry over: nothing to record."""
        self._table.update_if(
            schema.mail_key(message.message_id),
            "SET OBSK = :retry, due_at = :due, last_error = :err ADD attempts :one",
            _still_due_at(message),
            values={
                ":retry": due_key(retry_at, message.message_id),
                ":due": utc_iso(retry_at),
                ":err": error,
                ":one": 1,
            },
        )
