"""Business and health metrics a use case reports (names and dimensions in `chalicelib/metrics.py`)."""

from __future__ import annotations

from typing import Protocol


class Telemetry(Protocol):
    def count(self, metric: str, value: float = 1, **dimensions: str) -> None: ...

    def seconds(self, metric: str, value: float, **dimensions: str) -> None: ...


class NoTelemetry:
    """For a use case built without metrics (a test's own wiring); the container always wires the real one."""

    def count(self, metric: str, value: float = 1, **dimensions: str) -> None:
        return None

    def seconds(self, metric: str, value: float, **dimensions: str) -> None:
        return None
