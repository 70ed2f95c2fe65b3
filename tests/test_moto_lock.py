"""The moto fixes of devstack/moto_lock.py that the local stack and this suite run on (conftest installs them): memory
stays flat however many transactions run, and a cancelled transaction still applies nothing of itself."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devstack import moto_lock
from tests.support import TABLE, Stack

ITEMS_IN_TABLE = 200
TRANSACTIONS = 300
# Before the fix every transaction kept a deep copy of the whole table: 300 x 200 items, well over 100 MB here.
# What may stay behind is the items' current versions and interpreter caches.
GROWTH_BOUND_BYTES = 3_000_000


def _key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _item(pk: str, sk: str = "A", **attrs: str) -> dict[str, Any]:
    return {**_key(pk, sk), **{name: {"S": value} for name, value in attrs.items()}}


def _get(stack: Stack, pk: str, sk: str = "A") -> dict[str, Any] | None:
    item: dict[str, Any] | None = stack.ddb.get_item(TableName=TABLE, Key=_key(pk, sk), ConsistentRead=True).get("Item")
    return item


def _transact(stack: Stack, *items: dict[str, Any]) -> None:
    stack.ddb.transact_write_items(TransactItems=[{op: {"TableName": TABLE, **body}} for op, body in items])


def _cancelled(stack: Stack, *items: dict[str, Any]) -> list[str]:
    with pytest.raises(ClientError) as caught:
        _transact(stack, *items)
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    return [reason["Code"] for reason in caught.value.response["CancellationReasons"]]


def test_the_fixes_are_installed_for_the_suite() -> None:
    assert moto_lock.is_serialized()
    assert not moto_lock.is_tracking_models()


def test_memory_stays_flat_over_hundreds_of_transactions_on_a_full_table(stack: Stack) -> None:
    for n in range(ITEMS_IN_TABLE):
        stack.ddb.put_item(TableName=TABLE, Item=_item(f"FILL#{n}", payload="x" * 500))
    _transact(stack, ("Put", {"Item": _item("COUNTER", n="0")}))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(TRANSACTIONS):
            _transact(
                stack,
                ("Update", {"Key": _key("COUNTER"), "UpdateExpression": "SET n = :n",
                            "ExpressionAttributeValues": {":n": {"S": str(n + 1)}}}),
                ("ConditionCheck", {"Key": _key(f"FILL#{n % ITEMS_IN_TABLE}"),
                                    "ConditionExpression": "attribute_exists(PK)"}),
            )
            if n % 10 == 0:  # a cancelled one rolls back too
                _cancelled(stack, ("ConditionCheck", {"Key": _key("COUNTER"),
                                                      "ConditionExpression": "attribute_not_exists(PK)"}))
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert _get(stack, "COUNTER") == _item("COUNTER", n=str(TRANSACTIONS))
    assert growth < GROWTH_BOUND_BYTES, f"{TRANSACTIONS} transactions left {growth / 1e6:.1f} MB behind"


def test_a_failed_condition_on_the_second_item_leaves_the_first_unwritten(stack: Stack) -> None:
    stack.ddb.put_item(TableName=TABLE, Item=_item("GUARD", state="closed"))
    reasons = _cancelled(
        stack,
        ("Put", {"Item": _item("FIRST", v="new")}),
        ("ConditionCheck", {"Key": _key("GUARD"), "ConditionExpression": "#s = :open",
                            "ExpressionAttributeNames": {"#s": "state"},
                            "ExpressionAttributeValues": {":open": {"S": "open"}}}),
    )
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert _get(stack, "FIRST") is None
    assert stack.ddb.query(TableName=TABLE, KeyConditionExpression="PK = :pk",
                           ExpressionAttributeValues={":pk": {"S": "FIRST"}})["Items"] == []


def test_a_cancelled_transaction_restores_updated_replaced_and_deleted_items(stack: Stack) -> None:
    stack.ddb.put_item(TableName=TABLE, Item=_item("UPDATED", v="old", keep="yes"))
    stack.ddb.put_item(TableName=TABLE, Item=_item("REPLACED", v="old"))
    stack.ddb.put_item(TableName=TABLE, Item=_item("DELETED", v="old"))
    stack.ddb.put_item(TableName=TABLE, Item=_item("SIBLING", "B", v="old"))  # same partition as the new one below
    reasons = _cancelled(
        stack,
        ("Update", {"Key": _key("UPDATED"), "UpdateExpression": "SET v = :v REMOVE keep",
                    "ExpressionAttributeValues": {":v": {"S": "new"}}}),
        ("Put", {"Item": _item("REPLACED", v="new")}),
        ("Delete", {"Key": _key("DELETED")}),
        ("Put", {"Item": _item("SIBLING", "A", v="new")}),
        ("Update", {"Key": _key("MISSING"), "UpdateExpression": "SET v = :v",
                    "ConditionExpression": "attribute_exists(PK)", "ExpressionAttributeValues": {":v": {"S": "new"}}}),
    )
    assert reasons[-1] == "ConditionalCheckFailed"
    assert _get(stack, "UPDATED") == _item("UPDATED", v="old", keep="yes")
    assert _get(stack, "REPLACED") == _item("REPLACED", v="old")
    assert _get(stack, "DELETED") == _item("DELETED", v="old")
    assert _get(stack, "SIBLING", "A") is None and _get(stack, "SIBLING", "B") == _item("SIBLING", "B", v="old")
    assert _get(stack, "MISSING") is None


def test_a_transaction_refused_for_addressing_one_item_twice_applies_nothing(stack: Stack) -> None:
    with pytest.raises(ClientError) as caught:
        _transact(stack, ("Put", {"Item": _item("OTHER", v="new")}), ("Put", {"Item": _item("TWICE", v="1")}),
                  ("Update", {"Key": _key("TWICE"), "UpdateExpression": "SET v = :v",
                              "ExpressionAttributeValues": {":v": {"S": "2"}}}))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert _get(stack, "OTHER") is None and _get(stack, "TWICE") is None


def test_a_successful_transaction_applies_every_item(stack: Stack) -> None:
    stack.ddb.put_item(TableName=TABLE, Item=_item("GONE"))
    _transact(stack, ("Put", {"Item": _item("ONE", v="1")}), ("Delete", {"Key": _key("GONE")}),
              ("Update", {"Key": _key("TWO"), "UpdateExpression": "SET v = :v",
                          "ExpressionAttributeValues": {":v": {"S": "2"}}}))
    assert _get(stack, "ONE") == _item("ONE", v="1")
    assert _get(stack, "TWO") == _item("TWO", v="2")
    assert _get(stack, "GONE") is None
