"""Serialize moto's DynamoDB backend so every call is linearizable, like real DynamoDB.

Plain moto is not atomic under threads: two concurrent conditional writes can both pass their condition (an oversold
seat, a double activation). The local stack and the race tests wrap the backend's data-plane methods with one shared
re-entrant lock; each call (including its condition check and, for transactions, all of its items) then runs alone.
"""

from __future__ import annotations

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
