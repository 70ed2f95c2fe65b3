"""The unit of work: all or nothing, and a lost condition is reported by the label of the operation that lost."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamodb.unit_of_work import Condition, put_new, update
from chalicelib.domain.errors import WriteConflict


def _counter(n: int | None) -> dict:
    return {"PK": "COUNTER#test", "SK": "COUNTER", **({"n": n} if n is not None else {})}


def test_a_moved_counter_is_named_and_nothing_else_is_written(stack):
    table = stack.container.table
    table.unit_of_work().add(put_new("counter", _counter(1))).commit()

    moved = Condition("n = :expected", values={":expected": 0})  # the caller read 0; someone else wrote 1
    with pytest.raises(WriteConflict) as lost:
        table.unit_of_work().add(
            put_new("invoice", {"PK": "INVOICE#1", "SK": "INVOICE"}),
            update("counter", {"PK": "COUNTER#test", "SK": "COUNTER"}, "SET n = n + :one", moved, values={":one": 1}),
        ).commit()

    assert lost.value.failed == frozenset({"counter"})
    assert table.get({"PK": "INVOICE#1", "SK": "INVOICE"}) is None
    assert table.get({"PK": "COUNTER#test", "SK": "COUNTER"})["n"] == 1

