"""The scheduled jobs on their schedule (EventBridge rates in AWS), in one daemon thread of the local stack."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("devstack.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    every_s: float
    run: Callable[[], Any]


class BackgroundLoop:
    """A daemon thread running `_loop` until `stop` (the scheduler, the orders consumer)."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Asks the loop to end and waits for the work running right now to finish."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        raise NotImplementedError


class Scheduler(BackgroundLoop):
    """Runs each job every `every_s` seconds (first run one period after start, like a rate schedule)."""

    def __init__(self, jobs: Sequence[Job], monotonic: Callable[[], float] = time.monotonic) -> None:
        self._jobs = list(jobs)
        self._monotonic = monotonic
        super().__init__("devstack-scheduler")

    def _loop(self) -> None:
        started = self._monotonic()
        due = {job.name: started + job.every_s for job in self._jobs}
        while True:
            wait_s = max(0.0, min(due.values()) - self._monotonic())
            if self._stop.wait(wait_s):
                return
            for job in self._jobs:
                if self._stop.is_set():
                    return
                if due[job.name] <= self._monotonic():
                    self._run(job)
                    following = due[job.name] + job.every_s
                    now = self._monotonic()
                    # A slow run skips the slots it missed instead of running back to back.
                    due[job.name] = following if following > now else now + job.every_s

    def _run(self, job: Job) -> None:
        started = time.monotonic()
        try:
            summary = job.run()
        except Exception:
            log.exception("scheduled job %s failed; it runs again on its next slot", job.name)
            return
        log.info("scheduled job %s: %s (%.2fs)", job.name, json.dumps(summary, default=str), time.monotonic() - started)
