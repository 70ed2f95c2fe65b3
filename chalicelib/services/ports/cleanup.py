"""Removal of pending subscriptions past their deadline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from chalicelib.domain.models import ExpiredOrder


class CleanupStore(Protocol):
    def shards(self) -> Sequence[int]:
        """The deadline index's shards: `expired_pending` lists one at a time."""

    def expired_pending(
        self, shard: int, now: datetime, limit: int, start: str | None
    ) -> tuple[list[ExpiredOrder], str | None]:
        """The shard's pending subscriptions whose deadline is `now` or earlier, earliest first."""

    def remove_expired(self, expired: ExpiredOrder, now: datetime, tombstone_until: datetime) -> bool: ...
