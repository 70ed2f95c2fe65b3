"""The table every store shares: consistent reads, batched reads, paged queries, single conditional updates, and new
units of work. Items come back decoded (plain Python); keys go in as schema keys."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.unit_of_work import Condition, UnitOfWork


class Table:
    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._client, self.name)

    def get(self, key: schema.Key) -> schema.Item | None:
        item = self._client.get_item(TableName=self.name, Key=schema.dump(key), ConsistentRead=True).get("Item")
        return schema.load(item) if item else None

    def batch_get(self, keys: list[schema.Key]) -> list[schema.Item]:
        found: list[schema.Item] = []
        pending: dict[str, Any] = {self.name: {"Keys": [schema.dump(k) for k in keys], "ConsistentRead": True}}
        for _ in range(8):
            response = self._client.batch_get_item(RequestItems=pending)
            found += [schema.load(i) for i in response.get("Responses", {}).get(self.name, [])]
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
        raise RuntimeError("DynamoDB kept keys unprocessed after 8 attempts")

    def query(self, **kwargs: Any) -> tuple[list[schema.Item], dict[str, Any] | None]:
        """One page: the decoded items and the raw LastEvaluatedKey."""
        response = self._client.query(TableName=self.name, **kwargs)
        return [schema.load(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")

    def page(
        self, partition: str, prefix: str, limit: int, cursor: str | None, forward: bool
    ) -> tuple[list[schema.Item], str | None]:
        """Items of one partition whose sort key starts with `prefix`, resumable by an opaque cursor (None on the
        last page)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":prefix": {"S": prefix}},
            "ScanIndexForward": forward,
            "ConsistentRead": True,
        }
        if cursor:
            start = {"PK": partition, "SK": schema.decode_cursor(cursor, prefix)}
            kwargs["ExclusiveStartKey"] = schema.dump(start)
        return self.query_page(limit, "SK", **kwargs)

    def query_page(self, limit: int, sort_key: str, **kwargs: Any) -> tuple[list[schema.Item], str | None]:
        """Up to `limit` items and the cursor after the last of them, or None when nothing follows. DynamoDB hands
        back a LastEvaluatedKey whenever it stops at `Limit`, even with nothing after it: one item more is asked for,
        so a page that ends the list says so (a client would otherwise fetch an empty page to find out)."""
        items, last = self.query(Limit=limit + 1, **kwargs)
        if len(items) > limit:
            items = items[:limit]
            return items, schema.encode_cursor(str(items[-1][sort_key]))
        # fewer than asked and yet a LastEvaluatedKey: DynamoDB stopped at its 1 MB page, more may follow
        return items, schema.encode_cursor(last[sort_key]["S"]) if last else None

    def put_if(self, item: schema.Item, condition: Condition) -> bool:
        """A single conditional put outside a transaction; False when the condition failed."""
        try:
            self._client.put_item(TableName=self.name, Item=schema.dump(item), **condition.request())
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def update(self, key: schema.Key, expression: str, values: dict[str, Any], names: dict[str, str]) -> None:
        """An unconditional single update."""
        self._client.update_item(
            TableName=self.name,
            Key=schema.dump(key),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=schema.dump(values),
        )

    def delete(self, key: schema.Key) -> None:
        self._client.delete_item(TableName=self.name, Key=schema.dump(key))

    def update_if(
        self,
        key: schema.Key,
        expression: str,
        condition: Condition,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
        return_new: bool = False,
    ) -> schema.Item | None:
        """A single conditional update outside a transaction. None when the condition failed; otherwise the new item
        (with `return_new`) or an empty dict."""
        all_names = {**(names or {}), **condition.names}
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": schema.dump(key),
            "UpdateExpression": expression,
            "ConditionExpression": condition.expression,
            "ExpressionAttributeValues": schema.dump({**(values or {}), **condition.values}),
        }
        if all_names:
            kwargs["ExpressionAttributeNames"] = all_names
        if return_new:
            kwargs["ReturnValues"] = "ALL_NEW"
        try:
            response = self._client.update_item(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return schema.load(response["Attributes"]) if return_new else {}
