"""Idempotency records for mutations carrying `Idempotency-Key` (in the portal table, like Powertools' persistence
layer: a record is claimed before the mutation, completed with the response after it, and expires after a day)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.domain.errors import Conflict, InvalidInput

RETENTION = timedelta(hours=24)
IN_PROGRESS_LEASE = timedelta(seconds=60)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoIdempotencyStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @staticmethod
    def _key(scope: str) -> dict[str, Any]:
        return {"PK": {"S": "IDEMPOTENCY#" + hashlib.sha256(scope.encode()).hexdigest()}, "SK": {"S": "IDEMPOTENCY"}}

    def begin(self, scope: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
        """None: this request owns the key and must run. A dict: the first response, to be returned again."""
        item = {
            **self._key(scope),
            "status": {"S": "in_progress"},
            "fingerprint": {"S": fingerprint},
            "lease_until": {"N": str(int((now + IN_PROGRESS_LEASE).timestamp()))},
            "expires_at_epoch": {"N": str(int((now + RETENTION).timestamp()))},
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(PK) OR expires_at_epoch < :now OR "
                "(#st = :progress AND lease_until < :now)",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}, ":progress": {"S": "in_progress"}},
            )
            return None
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        stored = self._client.get_item(TableName=self._table, Key=self._key(scope), ConsistentRead=True).get("Item")
        if stored is None:  # expired between the two calls: treat as new on the next retry
            raise Conflict("The request with this Idempotency-Key is being processed; retry in a minute.")
        data = {k: _deserializer.deserialize(v) for k, v in stored.items()}
        if data["fingerprint"] != fingerprint:
            raise InvalidInput("This Idempotency-Key was already used for a different request; use a new key.")
        if data["status"] != "completed":
            raise Conflict("The request with this Idempotency-Key is still being processed; retry in a minute.")
        response: dict[str, Any] = data["response"]
        return response

    def complete(self, scope: str, response: dict[str, Any]) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._key(scope),
            UpdateExpression="SET #st = :done, #resp = :response",
            ExpressionAttributeNames={"#st": "status", "#resp": "response"},
            ExpressionAttributeValues={":done": {"S": "completed"}, ":response": _serializer.serialize(response)},
        )

    def abandon(self, scope: str) -> None:
        self._client.delete_item(TableName=self._table, Key=self._key(scope))
