"""Bounce and complaint notices recorded on the subscription's history, once per notice."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import Condition, put_new, update
from chalicelib.domain.access import AuditEvent
from chalicelib.domain.errors import WriteConflict
from chalicelib.domain.models import Subscription


class DynamoMailNoticeStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record_notice(
        self, before: Subscription, event: AuditEvent, notice_id: str, retain_until: datetime, orphan_expiry: bool
    ) -> bool:
        version = before.version + 1
        event_item = schema.event_item(event, version)
        if orphan_expiry:
            event_item["expires_at_epoch"] = schema.epoch(retain_until)
        try:
            self._table.unit_of_work().add(
                update(
                    "subscription",
                    schema.subscription_key(before.id),
                    "SET #v = #v + :one",
                    Condition("#v = :v", {"#v": "version"}, {":v": before.version}),
                    values={":one": 1},
                ),
                put_new("notice", schema.mail_notice_item(before.id, notice_id, retain_until)),
                put_new("event", event_item),
            ).commit()
        except WriteConflict as conflict:
            if "notice" in conflict.failed:
                return False
            raise
        return True
