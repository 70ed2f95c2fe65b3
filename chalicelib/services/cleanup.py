"""Scheduled removal of subscriptions whose 90-day activation period ended without activation.

The hourly run lists the expired entries of every shard of the sparse deadline index and queues them; workers remove
each one (services/fanout.py). Each removal is conditional on the subscription still being pending and past its
deadline, so an activation that wins the race is never undone, and a removal done twice (two runs listing the same
entry, a message delivered again) simply finds nothing the second time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from chalicelib.domain.models import ExpiredOrder
from chalicelib.services.fanout import DispatchSummary, Page, budget, dispatch
from chalicelib.services.ports.cleanup import CleanupStore
from chalicelib.services.ports.common import Clock, TimeLeft
from chalicelib.services.ports.work import WorkItem, WorkQueue

log = logging.getLogger(__name__)

JOB = "cleanup_unactivated"
# A redelivered order older than its deadline creates nothing anyway; the tombstone only has to outlive the deadline.
TOMBSTONE_RETENTION = timedelta(days=400)


class Cleanup:
    def __init__(self, store: CleanupStore, clock: Clock, queue: WorkQueue) -> None:
        self._store = store
        self._clock = clock
        self._queue = queue

    def dispatch_expired(
        self, time_left: TimeLeft, page_size: int = 250, stop_margin_s: float = 15.0
    ) -> DispatchSummary:
        now = self._clock.now()

        def shard_page(shard: int) -> Page:
            def page(start: str | None) -> tuple[list[WorkItem], str | None]:
                expired, following = self._store.expired_pending(shard, now, page_size, start)
                items: list[WorkItem] = [
                    {"subscription_id": e.subscription_id, "order_id": e.order_id, "admin_key": e.admin_key}
                    for e in expired
                ]
                return items, following

            return page

        summary = dispatch(self._queue, JOB, map(shard_page, self._store.shards()), budget(time_left, stop_margin_s))
        if summary.complete:
            log.info("cleanup queued: %s", summary.as_dict())
        else:  # the next hourly run goes on; a run that never completes makes the heartbeat alarm fire
            log.warning("cleanup stopped before its timeout with work left: %s", summary.as_dict())
        return summary

    def remove(self, item: WorkItem) -> dict[str, int]:
        """A worker's item: {"removed": 1}, or {"skipped": 1} when it was activated or removed meanwhile."""
        expired = ExpiredOrder(item["subscription_id"], item["order_id"], item["admin_key"])
        now = self._clock.now()
        if not self._store.remove_expired(expired, now, now + TOMBSTONE_RETENTION):
            return {"removed": 0, "skipped": 1}
        log.info(
            "removed unactivated subscription %s (order %s)",
            expired.subscription_id,
            expired.order_id,
            extra={"subscription_id": expired.subscription_id, "order_id": expired.order_id},
        )
        return {"removed": 1, "skipped": 0}
