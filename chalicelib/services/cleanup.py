"""Scheduled removal of subscriptions whose 90-day activation period ended without activation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

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
        """Reads only expired entries of the sparse deadline index. Each removal is conditional on the subscription
        still being pending and past its deadline, so an activation that wins the race is never undone, and two runs
        at once simply skip each other's work."""
        summary = CleanupSummary()
        now = self._clock.now()
        start: str | None = None
        while True:
            if time_left() < stop_margin_s:
                summary.complete = False
                break
            expired, start = self._store.expired_pending(now, page_size, start)
            for entry in expired:
                if time_left() < stop_margin_s:
                    summary.complete = False
                    break
                summary.examined += 1
                if self._store.remove_expired(entry, now, now + TOMBSTONE_RETENTION):
                    summary.removed += 1
                    log.info(
                        "removed unactivated subscription %s (order %s)",
                        entry.subscription_id,
                        entry.order_id,
                        extra={"subscription_id": entry.subscription_id, "order_id": entry.order_id},
                    )
                else:
                    summary.skipped += 1
            if start is None or not summary.complete:
                break
        if summary.complete:
            log.info("cleanup finished: %s", summary.as_dict())
        else:  # the next hourly run goes on; a run that never completes makes the heartbeat alarm fire
            log.warning("cleanup stopped before its timeout with work left: %s", summary.as_dict())
        return summary
