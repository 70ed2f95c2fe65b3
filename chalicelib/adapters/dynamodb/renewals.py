"""The renewal job's reads (the sparse renewal index up to today: only what is due) and its two transactions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import Condition, operations, update
from chalicelib.domain.access import AuditEvent
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import Subscription, SubscriptionStatus
from chalicelib.services.ports.invoices import WriteOperation


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

    @staticmethod
    def _unchanged(before: Subscription) -> Condition:
        assert before.next_renewal_date is not None
        return Condition(
            "#v = :v AND #s = :active AND next_renewal_date = :due",
            {"#v": "version", "#s": "status"},
            {
                ":v": before.version,
                ":active": SubscriptionStatus.ACTIVE.value,
                ":due": before.next_renewal_date.isoformat(),
            },
        )

    def renew(self, before: Subscription, following: date, event: AuditEvent, also: Sequence[WriteOperation]) -> None:
        self._table.unit_of_work().add(
            update(
                "subscription",
                schema.subscription_key(before.id),
                "SET next_renewal_date = :next, RNSK = :rnsk, #v = #v + :one",
                self._unchanged(before),
                values={
                    ":next": following.isoformat(),
                    ":rnsk": schema.renewal_sort_key(following, before.id),
                    ":one": 1,
                },
            ),
            *operations(also),
        ).record(event, before.version + 1).commit()

    def end(self, before: Subscription, ended_on: date, email: OutgoingEmail, event: AuditEvent) -> None:
        cancelled = self._unchanged(before)
        cancelled = Condition(cancelled.expression + " AND cancel_at_renewal = :yes", cancelled.names,
                              {**cancelled.values, ":yes": True})  # fmt: skip
        self._table.unit_of_work().add(
            update(
                "subscription",
                schema.subscription_key(before.id),
                "SET #s = :ended, ended_on = :ended_on, #v = #v + :one REMOVE next_renewal_date, RNPK, RNSK",
                cancelled,
                values={":ended": SubscriptionStatus.ENDED.value, ":ended_on": ended_on.isoformat(), ":one": 1},
            )
        ).record(event, before.version + 1).queue([email]).commit()
