"""What the cleanup job reads and removes: pending subscriptions past their deadline, found by the sparse index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import Condition, delete, put
from chalicelib.domain.errors import WriteConflict
from chalicelib.domain.models import ExpiredOrder, SubscriptionStatus, utc_iso


class DynamoCleanupStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def shards(self) -> Sequence[int]:
        return range(schema.INDEX_PARTITIONS)

    def expired_pending(
        self, shard: int, now: datetime, limit: int, start: str | None
    ) -> tuple[list[ExpiredOrder], str | None]:
        """Only the shard's expired entries; the index projects what the removal needs, so nothing else is read."""
        kwargs: dict[str, Any] = {
            "IndexName": "pending_by_deadline",
            "KeyConditionExpression": "DLPK = :pk AND DLSK < :bound",
            # '~' sorts after '#', so a deadline equal to now counts as passed.
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.shards(schema.PENDING_PARTITION)[shard]},
                ":bound": {"S": utc_iso(now) + "~"},
            },
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = json.loads(start)
        items, last = self._table.query(**kwargs)
        return [schema.expired_order_from(i) for i in items], json.dumps(last) if last else None

    def remove_expired(self, expired: ExpiredOrder, now: datetime, tombstone_until: datetime) -> bool:
        """One transaction: the subscription (only if still pending and past its deadline), its admin's access entry
        (a pending subscription has no other items), and the order's tombstone. False: it was activated meanwhile, or
        another run removed it."""
        still_expired = Condition(
            "#s = :pending AND deadline_at <= :now",
            {"#s": "status"},
            {":pending": SubscriptionStatus.PENDING_ACTIVATION.value, ":now": utc_iso(now)},
        )
        try:
            self._table.unit_of_work().add(
                delete("subscription", schema.subscription_key(expired.subscription_id), still_expired),
                delete("access", schema.access_key(expired.subscription_id, expired.admin_key)),
                put("order", schema.order_tombstone_item(expired, now, tombstone_until)),
            ).commit()
        except WriteConflict:
            return False
        return True
