"""What the renewal job reads: the subscriptions due by renewal date (sparse index), each by key. The renewal of a
term and the end of a cancelled subscription are staged on a UnitOfWork."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from chalicelib.domain.models import Subscription


class RenewalStore(Protocol):
    def shards(self) -> Sequence[int]:
        """The renewal index's shards: `due` lists one at a time."""

    def due(self, shard: int, today: date, limit: int, start: str | None) -> tuple[list[str], str | None]:
        """Ids of the shard's active subscriptions whose next renewal date is today or earlier, earliest first."""

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...
