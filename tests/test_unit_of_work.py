"""The unit of work: all or nothing, and a lost condition is reported by the label of the operation that lost."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamodb.unit_of_work import Condition, condition_check, put, put_new, update
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


def test_a_condition_check_on_an_unchanged_item_guards_the_transaction(stack, active):
    table = stack.container.table
    still_pending = Condition("#s = :pending", {"#s": "status"}, {":pending": "pending_activation"})
    with pytest.raises(WriteConflict) as lost:
        table.unit_of_work().add(
            condition_check("subscription", {"PK": f"SUB#{active}", "SK": "SUB"}, still_pending),
            put("note", {"PK": "NOTE#1", "SK": "NOTE"}),
        ).commit()

    assert lost.value.failed == frozenset({"subscription"})
    assert table.get({"PK": "NOTE#1", "SK": "NOTE"}) is None
