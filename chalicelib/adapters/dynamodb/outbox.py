"""The outbox's entries after they were queued (by a unit of work): due ones, claims, sent and failed marks."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import Condition
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import utc_iso


def _still_due_at(email: OutgoingEmail) -> Condition:
    """Nobody claimed, sent or rescheduled the entry since it was read."""
    return Condition("OBSK = :expected", values={":expected": schema.due_key(email)})


class DynamoOutboxStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def due_emails(self, now: datetime, limit: int) -> list[OutgoingEmail]:
        """The `limit` longest-due emails: each shard's oldest, merged (one query per shard)."""
        due: list[schema.Item] = []
        for partition in schema.shards(schema.UNSENT_PARTITION):
            items, _ = self._table.query(
                IndexName="unsent_emails",
                KeyConditionExpression="OBPK = :pk AND OBSK < :bound",
                ExpressionAttributeValues={":pk": {"S": partition}, ":bound": {"S": utc_iso(now) + "~"}},
                Limit=limit,
            )
            due += items
        return [schema.mail_from(i) for i in sorted(due, key=lambda item: str(item["OBSK"]))[:limit]]

    def claim_email(self, email: OutgoingEmail, lease_until: datetime) -> OutgoingEmail | None:
        claimed = dataclasses.replace(email, due_at=lease_until)
        item = self._table.update_if(
            schema.mail_key(email.mail_id),
            "SET OBSK = :lease, due_at = :due",
            _still_due_at(email),
            values={":lease": schema.due_key(claimed), ":due": utc_iso(lease_until)},
            return_new=True,
        )
        return schema.mail_from(item) if item is not None else None

    def mark_sent(self, email: OutgoingEmail, provider_id: str, now: datetime) -> bool:
        done = self._table.update_if(
            schema.mail_key(email.mail_id),
            "SET #s = :sent, sent_at = :now, provider_message_id = :pid, expires_at_epoch = :ttl REMOVE OBPK, OBSK",
            _still_due_at(email),
            names={"#s": "status"},
            values={
                ":sent": "sent",
                ":now": utc_iso(now),
                ":pid": provider_id,
                ":ttl": schema.epoch(now + schema.SENT_MAIL_RETENTION),
            },
        )
        return done is not None

    def mark_failed(self, email: OutgoingEmail, error: str, retry_at: datetime) -> None:
        """Losing the condition means another run already took the entry over: nothing to record."""
        retry = dataclasses.replace(email, due_at=retry_at)
        self._table.update_if(
            schema.mail_key(email.mail_id),
            "SET OBSK = :retry, due_at = :due, last_error = :err ADD attempts :one",
            _still_due_at(email),
            values={":retry": schema.due_key(retry), ":due": utc_iso(retry_at), ":err": error, ":one": 1},
        )
