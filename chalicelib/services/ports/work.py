"""The jobs' work queue: a scheduled job lists what is due and queues it; workers take it from there (SQS in AWS)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

WorkItem = Mapping[str, str]
"""One unit of a job's work, as plain strings (it travels in a queue message): e.g. {"subscription_id": ...}."""


class WorkQueue(Protocol):
    def enqueue(self, job: str, items: Sequence[WorkItem]) -> int:
        """Queues `items` for `job`'s workers and returns how many messages that took. Raises WorkNotQueued when the
        queue kept refusing some of them (the caller stops; what it listed is still due and listed next run)."""
