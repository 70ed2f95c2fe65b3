"""moto made fit for a long-running local stack and a fast test suite: `install()` applies all three fixes.

1. Serialized DynamoDB. Plain moto is not atomic under threads: two concurrent conditional writes can both pass their
   condition (an oversold seat, a double activation). The data-plane methods of moto's DynamoDB backend take one shared
   re-entrant lock; each call (including its condition check and, for transactions, all of its items) then runs alone.
2. No instance tracking. moto's BaseModel.__new__ appends every model object it ever creates (every DynamoDB item
   version, every SQS message, ...) to a class-level list, only for the moto server's /moto-api dashboard; nothing
   else reads it. copy.deepcopy creates objects through __new__ too, so moto's own copies are kept forever. This was
   the local stack's leak: see 3.
3. A transaction rollback by undo log. moto 5.2.5's transact_write_items deep-copies every table the transaction
   touches before it starts, to restore it on failure: O(table) time per transaction and, with 2., the whole copy
   retained, so memory grew with (transactions x table size) until the kernel killed the stack. Under the lock of 1.
   nothing else writes during a transaction, so remembering the prior version of just the items it addresses, and
   putting them back when it fails, restores exactly what the copy did.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

LOCK = threading.RLock()

METHODS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_write_items",
    "transact_get_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)

_MARK = "__devstack_serialized__"
_install_lock = threading.Lock()


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return method(*args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def serialize_dynamodb() -> list[str]:
    """Wrap the methods of moto's DynamoDBBackend (those that exist) with the shared lock. Idempotent; process-wide
    (it patches the class, so every account and region, in-process `mock_aws` and moto server alike).

    Returns the names of the methods that are serialized.
    """
    from moto.dynamodb.models import DynamoDBBackend

    wrapped: list[str] = []
    with _install_lock:
        for name in METHODS:
            method = getattr(DynamoDBBackend, name, None)
            if method is None or not callable(method):
                continue
            if not getattr(method, _MARK, False):
                setattr(DynamoDBBackend, name, _serialized(method))
            wrapped.append(name)
    return wrapped


def is_serialized() -> bool:
    from moto.dynamodb.models import DynamoDBBackend

    present = [getattr(DynamoDBBackend, name) for name in METHODS if hasattr(DynamoDBBackend, name)]
    return all(getattr(method, _MARK, False) for method in present)


# ------------------------------------------------------------------------------------------------ instance tracking

_UNTRACKED = "__devstack_untracked__"


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


setattr(_untracked_new, _UNTRACKED, True)


def stop_model_tracking() -> None:
    """moto keeps no reference to the model objects it creates (its /moto-api/data.json dashboard then lists none).
    Idempotent; process-wide."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    with _install_lock:
        if is_tracking_models():
            BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[assignment,method-assign]
        reset_model_data()  # drops what was tracked before


def is_tracking_models() -> bool:
    from moto.core.common_models import BaseModel

    new = BaseModel.__dict__["__new__"]
    return not getattr(getattr(new, "__func__", new), _UNTRACKED, False)


# ------------------------------------------------------------------------------------------- transaction rollback

_UNDO_LOG = "__devstack_undo_log__"


class _CopyKeepingTables:
    """Stands in for the `copy` module inside moto.dynamodb.models: its one deep copy of a Table (the transaction's
    backup) becomes the table itself, so moto's own rollback re-assigns the live table; the undo log restores it.
    Every other copy (an item's previous version in update_item) is a real deep copy."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _addressed_key(table: Any, operation: str, request: dict[str, Any]) -> tuple[Any, Any] | None:
    """(hash, range) DynamoTypes of the item one transaction entry writes, or None when moto will refuse the entry
    before writing anything (missing key attributes)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    key = request.get("Item") if operation == "Put" else request.get("Key")
    if not isinstance(key, dict) or table.hash_key_attr not in key:
        return None
    if table.range_key_attr is not None and table.range_key_attr not in key:
        return None
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
    return DynamoType(key[table.hash_key_attr]), range_value


def _restore(table: Any, hash_value: Any, range_value: Any, previous: Any) -> None:
    if range_value is None:
        if previous is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = previous
        return
    versions = table.items.get(hash_value)
    if previous is not None:
        table.items[hash_value][range_value] = previous
    elif versions is not None:
        versions.pop(range_value, None)
        if not versions:
            del table.items[hash_value]


def _with_undo_log(transact_write_items: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(transact_write_items)
    def wrapper(self: Any, transact_items: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            undo: dict[tuple[str, Any, Any], Any] = {}
            for entry in transact_items if len(transact_items) <= 100 else []:
                if not isinstance(entry, dict) or len(entry) != 1:
                    continue
                operation, request = next(iter(entry.items()))
                table = self.tables.get(request.get("TableName")) if isinstance(request, dict) else None
                if table is None:
                    continue
                if table.stream_shard is not None:
                    # A stream records every write; only the whole-table copy takes the records back. Not our table.
                    return transact_write_items(self, transact_items, *args, **kwargs)
                key = _addressed_key(table, operation, request)
                if key is not None and (table.name, *key) not in undo:
                    undo[(table.name, *key)] = copy.deepcopy(table.get_item(*key))
            try:
                return transact_write_items(self, transact_items, *args, **kwargs)
            except BaseException:
                for (table_name, hash_value, range_value), previous in undo.items():
                    _restore(self.tables[table_name], hash_value, range_value, previous)
                raise

    setattr(wrapper, _UNDO_LOG, True)
    return wrapper


def rollback_by_undo_log() -> None:
    """Replaces moto's whole-table backup in transact_write_items with an undo log of the addressed items.
    Idempotent; process-wide."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    with _install_lock:
        if not isinstance(getattr(models, "copy", None), _CopyKeepingTables):
            setattr(models, "copy", _CopyKeepingTables(Table))  # noqa: B010 - moto's module global, not an attribute of ours
        if not getattr(DynamoDBBackend.transact_write_items, _UNDO_LOG, False):
            DynamoDBBackend.transact_write_items = _with_undo_log(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]


def install() -> None:
    """All three fixes (see the module's docstring), before moto serves anything. Idempotent; process-wide, so the
    in-process `mock_aws` of the tests and the local stack's moto server get the same."""
    stop_model_tracking()
    rollback_by_undo_log()
    serialize_dynamodb()
