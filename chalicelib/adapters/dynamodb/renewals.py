"""The renewal job's reads: the sparse renewal index up to today (only what is due) and each subscription by key."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.domain.models import Subscription


class DynamoRenewalStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def shards(self) -> Sequence[int]:
        return range(schema.INDEX_PARTITIONS)

    def due(self, shard: int, today: date, limit: int, start: str | None) -> tuple[list[str], str | None]:
        kwargs: dict[str, Any] = {
            "IndexName": schema.RENEWAL_INDEX,
            "KeyConditionExpression": "RNPK = :pk AND RNSK < :bound",
            "ExpressionAttributeValues": {
                ":pk": {"S": schema.shards(schema.ACTIVE_PARTITION)[shard]},
                ":bound": {"S": schema.renewal_bound(today)},
            },
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = json.loads(start)
        items, last = self._table.query(**kwargs)
        return [schema.subscription_id_of(i["PK"]) for i in items], json.dumps(last) if last else None

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self._table.get(schema.subscription_key(subscription_id))
        return schema.subscription_from(item) if item else None
