"""Idempotency records for mutations carrying `Idempotency-Key` (in the portal table, like Powertools' persistence
layer: a record is claimed before the mutation, completed with the response after it, and expires after a day)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import Condition
from chalicelib.domain.errors import IdempotencyKeyInProgress, IdempotencyKeyReused

RETENTION = timedelta(hours=24)
IN_PROGRESS_LEASE = timedelta(seconds=60)


class DynamoIdempotencyRecords:
    def __init__(self, table: Table) -> None:
        self._table = table

    def begin(self, scope: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
        """None: this request owns the key and must run. A dict: the first response, to be returned again."""
        claimable = Condition(
            "attribute_not_exists(PK) OR expires_at_epoch < :now OR (#st = :progress AND lease_until < :now)",
            {"#st": "status"},
            {":now": schema.epoch(now), ":progress": "in_progress"},
        )
        item = {
            **schema.idempotency_key(scope),
            "status": "in_progress",
            "fingerprint": fingerprint,
            "lease_until": schema.epoch(now + IN_PROGRESS_LEASE),
            "expires_at_epoch": schema.epoch(now + RETENTION),
        }
        if self._table.put_if(item, claimable):
            return None
        stored = self._table.get(schema.idempotency_key(scope))
        if stored is None:  # expired between the two calls: treat as new on the next retry
            raise IdempotencyKeyInProgress(
                "The first request with this Idempotency-Key is being processed; retry later."
            )
        if stored["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request; use a new key.")
        if stored["status"] != "completed":
            raise IdempotencyKeyInProgress("The first request with this Idempotency-Key is still running; retry later.")
        response: dict[str, Any] = stored["response"]
        return response

    def complete(self, scope: str, response: dict[str, Any]) -> None:
        self._table.update(
            schema.idempotency_key(scope),
            "SET #st = :done, #resp = :response",
            {":done": "completed", ":response": response},
            {"#st": "status", "#resp": "response"},
        )

    def abandon(self, scope: str) -> None:
        self._table.delete(schema.idempotency_key(scope))
