"""Scheduled removal of subscriptions whose 90-day activation period ended without activation.

The hourly run reads the expired entries of every shard of the sparse deadline index and removes them itself: at the
target volume that is about 60 an hour (5% of 27,400 orders a day), far below what one run does (tens a second), and
doing them in the run keeps DESIGN's promise that a cleanup run leaves no pending subscription past its deadline (the
jobs' work queue can be hours deep on a renewal day). Each removal is conditional on the subscription still being
pending and past its deadline, so an activation that wins the race is never undone, and two runs at once simply skip
each other's work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.services.fanout import OutOfTime, budget
from chalicelib.services.ports.cleanup import CleanupStore
from chalicelib.services.ports.common import Clock, TimeLeft

log = logging.getLogger(__name__)

# A redelivered order older than its deadline creates nothing anyway; the tombstone only has to outlive the deadline.
TOMBSTONE_RETENTION = timedelta(days=400)


@dataclass
class CleanupSummary:
    examined: int = 0
    removed: int = 0
    skipped: int = 0
    complete: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"examined": self.examined, "removed": self.removed, "skipped": self.skipped, "complete": self.complete}


class Cleanup:
    def __init__(self, store: CleanupStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def remove_unactivated(
        self, time_left: TimeLeft, page_size: int = 100, stop_margin_s: float = 15.0
    ) -> CleanupSummary:
        summary = CleanupSummary()
        now = self._clock.now()
        in_time = budget(time_left, stop_margin_s)
        try:
            for shard in self._store.shards():
                start: str | None = None
                while True:
                    in_time()
                    expired, start = self._store.expired_pending(shard, now, page_size, start)
                    for entry in expired:
                        in_time()
                        summary.examined += 1
                        if not self._store.remove_expired(entry, now, now + TOMBSTONE_RETENTION):
                            summary.skipped += 1
                            continue
                        summary.removed += 1
                        log.info(
                            "removed unactivated subscription %s (order %s)",
                            entry.subscription_id,
                            entry.order_id,
                            extra={"subscription_id": entry.subscription_id, "order_id": entry.order_id},
                        )
                    if start is None:
                        break
        except OutOfTime:
            summary.complete = False
        if summary.complete:
            log.info("cleanup finished: %s", summary.as_dict())
        else:  # the next hourly run goes on; a run that never completes makes the heartbeat alarm fire
            log.warning("cleanup stopped before its timeout with work left: %s", summary.as_dict())
        return summary
