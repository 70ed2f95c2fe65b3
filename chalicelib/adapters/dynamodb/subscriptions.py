"""Subscriptions and the reads behind visibility: the caller's access entries and subscriptions with the caller's
roles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.domain.access import AccessPage
from chalicelib.domain.models import Subscription, utc_iso


class DynamoSubscriptionStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self._table.get(schema.subscription_key(subscription_id))
        return schema.subscription_from(item) if item else None

    def get_subscription_and_seat(self, subscription_id: str, email: str) -> tuple[Subscription | None, bool]:
        items = self._table.batch_get(
            [schema.subscription_key(subscription_id), schema.access_key(subscription_id, email)]
        )
        subscription = next((schema.subscription_from(i) for i in items if schema.is_subscription(i)), None)
        access = next((i for i in items if not schema.is_subscription(i)), None)
        return subscription, "seat" in schema.roles_from(access)

    def list_access(self, email: str, country: str, limit: int, cursor: str | None) -> AccessPage:
        partition = schema.person_partition(email)
        kwargs: dict[str, Any] = {
            "IndexName": "by_person",
            "KeyConditionExpression": "GSI1PK = :pk AND begins_with(GSI1SK, :country)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":country": {"S": f"{country}#"}},
            "ScanIndexForward": False,
        }
        if cursor:
            # Rebuilt around the caller's own partition: a forged cursor can never read someone else's items. The
            # subscription id is the sort key's last part (<country>#<ordered_at>#<id>).
            sort_key = schema.decode_cursor(cursor, f"{country}#")
            start = schema.access_index_key(sort_key.rsplit("#", 1)[-1], email, sort_key)
            kwargs["ExclusiveStartKey"] = schema.dump(start)
        items, next_cursor = self._table.query_page(limit, "GSI1SK", **kwargs)
        return AccessPage(entries=[schema.access_entry_from(i) for i in items], next_cursor=next_cursor)

    def countries_of(self, email: str, now: datetime) -> list[str]:
        items, _ = self._table.query(
            IndexName="by_person",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": schema.person_partition(email)}},
            ProjectionExpression="country, visible_until",
            Limit=100,
        )
        now_iso = utc_iso(now)
        return sorted({i["country"] for i in items if "visible_until" not in i or now_iso < i["visible_until"]})

    def subscriptions_with_roles(self, ids: list[str], email: str) -> list[tuple[Subscription, frozenset[str]]]:
        """Each subscription with the person's roles on it, both read consistently in one call: the person index
        behind a list is eventually consistent, so it only nominates; these items decide."""
        keys = [k for i in ids for k in (schema.subscription_key(i), schema.access_key(i, email))]
        items = self._table.batch_get(keys)
        subscriptions = {i["PK"]: schema.subscription_from(i) for i in items if schema.is_subscription(i)}
        roles = {i["PK"]: schema.roles_from(i) for i in items if not schema.is_subscription(i)}
        return [(s, roles.get(pk, frozenset())) for pk, s in subscriptions.items()]
