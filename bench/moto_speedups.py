"""Patches to moto's own bookkeeping, used only around the 20,000-item cleanup scenario. None changes a request, a
response or a count the app sees; they only make moto's CPU cost bearable at that size:

* moto checks the 400 KB item-size limit by re-measuring every attribute on every attribute set (quadratic per item,
  about 1 ms per item: 20 s for the seed). While bulk seeding, the check is skipped (the seeded items are ~1 KB).
* moto backs up the whole table with copy.deepcopy once per item of every TransactWriteItems call, for the rollback
  (about 3 s per copy at 20,000 items). For transactions without an Update (whose in-place changes only a deep copy can
  undo), the backup is a structural copy instead: a shallow copy of the table whose partition map is copied, and the
  item map of every partition the transaction writes to as well. Items are shared: puts replace them and deletes pop
  them from those copied maps, so a rollback restores exactly the same state.
* moto answers every Query by sorting the whole table with DynamoType comparisons (0.6 s at 20,000 items, per query).
  A base-table Query now only looks at its own partition, and the sort uses precomputed keys: same items, same order.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as ddb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
from moto.dynamodb.models.table import Table

_touched: dict[str, set[Any]] = {}  # table name -> hash keys the running transaction writes to


def _structural_copy(table: Table) -> Table:
    backup = copy.copy(table)
    partitions = table.items.copy()
    for hash_key in _touched.get(table.name, ()):
        if isinstance(partitions.get(hash_key), dict):
            partitions[hash_key] = dict(partitions[hash_key])
    backup.items = partitions
    return backup


def _touched_partitions(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> dict[str, set[Any]]:
    touched: dict[str, set[Any]] = {}
    for entry in transact_items:
        op = next(iter(entry.values()))
        table = backend.get_table(op["TableName"])
        key = op.get("Key") or op["Item"]
        touched.setdefault(table.name, set()).add(DynamoType(key[table.hash_key_attr]))
    return touched


class _CopyModule:
    """Stands in for the `copy` module inside moto.dynamodb.models while one transaction runs."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            return _structural_copy(value)
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _all_items_sorted_by_precomputed_keys(self: Table) -> list[Any]:
    if not self.range_key_attr:
        return _original_all_items(self)
    items = [item for by_range in self.items.values() for item in by_range.values()]
    return sorted(items, key=lambda x: (x.hash_key.cast_value, x.range_key.cast_value if x.range_key else ""))


_original_all_items = Table.all_items


@contextmanager
def fast_moto() -> Iterator[None]:
    """Transactions without the whole-table deep copy, queries without the whole-table sort."""
    original_transact = DynamoDBBackend.transact_write_items
    original_query = Table.query

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        if any("Update" in item for item in transact_items):
            return original_transact(self, transact_items)
        _touched.update(_touched_partitions(self, transact_items))
        ddb_models.copy = _CopyModule()  # type: ignore[assignment]
        try:
            return original_transact(self, transact_items)
        finally:
            ddb_models.copy = copy
            _touched.clear()

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return original_query(self, hash_key, *args, **kwargs)
        everything = self.items
        self.items = defaultdict(dict, {hash_key: everything[hash_key]} if hash_key in everything else {})
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            self.items = everything

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = _all_items_sorted_by_precomputed_keys  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]
        Table.query = original_query  # type: ignore[method-assign]
        Table.all_items = _original_all_items  # type: ignore[method-assign]


@contextmanager
def no_item_size_check() -> Iterator[None]:
    original = LimitedSizeDict.__setitem__
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        LimitedSizeDict.__setitem__ = original  # type: ignore[method-assign]
