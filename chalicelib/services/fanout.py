"""How the scheduled jobs scale past one invocation: the scheduled run only lists what is due (every shard of a sparse
index, page by page) and queues it; workers do the items, as many at once as their concurrency allows.

Every item's work is idempotent (conditional on the state that was read, or guarded by a marker or a key), so a message
delivered twice, a worker that fails midway and gets its message again, or an item listed by two runs changes nothing
twice. A dispatching run that stops early (time budget) leaves the rest listed for the next run.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from chalicelib.services.ports.common import TimeLeft
from chalicelib.services.ports.work import WorkItem, WorkQueue

log = logging.getLogger(__name__)

Page = Callable[[str | None], tuple[list[WorkItem], str | None]]
"""One page of due items from where the previous page stopped (None: the start), and where the next one starts."""
WorkHandler = Callable[[WorkItem], Mapping[str, int]]
"""Does one item; returns what it did as counts (e.g. {"renewed": 1, "invoices": 2})."""


@dataclass
class DispatchSummary:
    queued: int = 0  # items listed as due and queued for the workers
    messages: int = 0
    complete: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"queued": self.queued, "messages": self.messages, "complete": self.complete}


class OutOfTime(Exception):
    pass


def budget(time_left: TimeLeft, stop_margin_s: float) -> Callable[[], None]:
    def in_time() -> None:
        if time_left() < stop_margin_s:
            raise OutOfTime

    return in_time


def dispatch(queue: WorkQueue, job: str, pages: Iterable[Page], in_time: Callable[[], None]) -> DispatchSummary:
    """Queues every item the pages list (one page function per shard), page after page, until done or out of time."""
    summary = DispatchSummary()
    try:
        for page in pages:
            start: str | None = None
            while True:
                in_time()
                items, start = page(start)
                if items:
                    summary.messages += queue.enqueue(job, items)
                    summary.queued += len(items)
                if start is None:
                    break
    except OutOfTime:
        summary.complete = False
    return summary


class WorkNotDone(Exception):
    """A message whose work is not (all) done: delivered again, dead-lettered after the queue's maxReceiveCount.
    `job` names its job ("unknown" when the message does not say one a worker knows), for the metrics."""

    def __init__(self, message: str, job: str = "unknown") -> None:
        super().__init__(message)
        self.job = job


class InvalidWorkMessage(WorkNotDone):
    """A message no worker can do: logged, left to the queue's redrive (dead-letter queue and its alarm)."""


class ItemsFailed(WorkNotDone):
    """Some items of a message failed (each logged with its error); the others were done. The message is delivered
    again (the done ones change nothing then)."""


class Workers:
    """The worker side: a queue message's items, each handed to its job's handler."""

    def __init__(self, handlers: Mapping[str, WorkHandler]) -> None:
        self._handlers = handlers

    def run(self, body: str, done: Counter[str]) -> str:
        """Does every item of the message, adding what each did to `done` as it goes; returns the job's name. An item
        that fails does not hold back the others: they are done, then ItemsFailed has the message delivered again."""
        job, items = self._parse(body)
        handler = self._handlers[job]
        failed = 0
        for item in items:
            try:
                done.update(handler(item))
            except Exception:
                failed += 1
                log.exception("%s: the item of subscription %s failed; the others go on", job,
                              item.get("subscription_id", "?"))  # fmt: skip
        if failed:
            raise ItemsFailed(f"{failed} of {len(items)} {job} item(s) failed", job)
        return job

    def _parse(self, body: str) -> tuple[str, list[WorkItem]]:
        try:
            message = json.loads(body)
            job, items = message["job"], message["items"]
        except (ValueError, TypeError, KeyError, RecursionError):  # RecursionError: JSON nested too deeply
            raise InvalidWorkMessage('not a work message: expected {"job": ..., "items": [...]}') from None
        if not isinstance(job, str):
            raise InvalidWorkMessage(f"job must be a string, not {type(job).__name__}")
        if job not in self._handlers:
            raise InvalidWorkMessage(f"no worker does {job!r}; known: {sorted(self._handlers)}")
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and all(isinstance(v, str) for v in item.values()) for item in items
        ):
            raise InvalidWorkMessage("items must be a list of objects of strings", job)
        return job, items
