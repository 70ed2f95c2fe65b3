"""Removal of pending subscriptions past their deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from chalicelib.domain.models import ExpiredOrder


class CleanupStore(Protocol):
    def expired_pending(
        self, now: datetime, limit: int, start: str | None
    ) -> tuple[list[ExpiredOrder], str | None]: ...

    def remove_expired(self, expired: ExpiredOrder, now: datetime, tombstone_until: datetime) -> bool: ...
