"""The reminder job's reads (key ranges of the sparse deadline and renewal indexes, past a stored watermark) and its
writes (a marker put_new with the outbox email, under a condition check of the subscription)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import Condition, condition_check, put_new
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription, SubscriptionStatus, utc_iso
from chalicelib.services.ports.reminders import IndexEntry

JOB = "send_reminders"


class DynamoReminderStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self._table.get(schema.subscription_key(subscription_id))
        return schema.subscription_from(item) if item else None

    def watermark(self, name: str) -> str | None:
        item = self._table.get(schema.watermark_key(JOB, name))
        return str(item["position"]) if item else None

    def advance_watermark(self, name: str, position: str) -> None:
        self._table.update_if(
            schema.watermark_key(JOB, name),
            "SET #p = :p",
            Condition("attribute_not_exists(#p) OR #p < :p", {"#p": "position"}, {":p": position}),
        )

    def shards(self) -> Sequence[int]:
        return range(schema.INDEX_PARTITIONS)

    def pending_deadlines(
        self, shard: int, after: str | None, floor: datetime, upto: datetime, limit: int, start: str | None
    ) -> tuple[list[IndexEntry], str | None]:
        low = max(after or "", schema.deadline_bound(floor))
        partition = schema.shards(schema.PENDING_PARTITION)[shard]
        return self._range(schema.DEADLINE_INDEX, "DLPK", "DLSK", partition, low,
                           schema.deadline_bound(upto), limit, start)  # fmt: skip

    def pending_range_end(self, upto: datetime) -> str:
        return schema.deadline_bound(upto)

    def renewal_dates(
        self, shard: int, after: str | None, floor: date, upto: date, limit: int, start: str | None
    ) -> tuple[list[IndexEntry], str | None]:
        low = max(after or "", schema.renewal_bound(floor))
        partition = schema.shards(schema.ACTIVE_PARTITION)[shard]
        return self._range(schema.RENEWAL_INDEX, "RNPK", "RNSK", partition, low,
                           schema.renewal_bound(upto), limit, start)  # fmt: skip

    def renewal_range_end(self, upto: date) -> str:
        return schema.renewal_bound(upto)

    def _range(
        self, index: str, pk: str, sk: str, partition: str, low: str, high: str, limit: int, start: str | None
    ) -> tuple[list[IndexEntry], str | None]:
        if low >= high:
            return [], None
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": f"{pk} = :pk AND {sk} BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":low": {"S": low}, ":high": {"S": high}},
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = json.loads(start)
        items, last = self._table.query(**kwargs)
        entries = [IndexEntry(schema.subscription_id_of(i["PK"]), i[sk]) for i in items if i[sk] != low]
        return entries, json.dumps(last) if last else None

    def send_activation_reminder(
        self, subscription: Subscription, marker: str, email: OutgoingEmail, now: datetime
    ) -> None:
        still_pending = Condition(
            "#v = :v AND #s = :pending AND deadline_at > :now",
            {"#v": "version", "#s": "status"},
            {":v": subscription.version, ":pending": SubscriptionStatus.PENDING_ACTIVATION.value, ":now": utc_iso(now)},
        )
        self._send(subscription, marker, email, now, still_pending)

    def send_renewal_reminder(
        self, subscription: Subscription, marker: str, email: OutgoingEmail, now: datetime
    ) -> None:
        still_active = Condition(
            "#v = :v AND #s = :active",
            {"#v": "version", "#s": "status"},
            {":v": subscription.version, ":active": SubscriptionStatus.ACTIVE.value},
        )
        self._send(subscription, marker, email, now, still_active)

    def _send(
        self, subscription: Subscription, marker: str, email: OutgoingEmail, now: datetime, condition: Condition
    ) -> None:
        self._table.unit_of_work().add(
            put_new("marker", schema.reminder_item(subscription.id, marker, now)),
            condition_check("subscription", schema.subscription_key(subscription.id), condition),
        ).queue([email]).commit()
