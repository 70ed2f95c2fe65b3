"""The metrics a test's stack writes (CloudWatch EMF lines), parsed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib import metrics
from chalicelib.adapters.telemetry import EmfTelemetry
from tests.support import Stack


@dataclass
class Emitted:
    lines: list[str] = field(default_factory=list)

    def blobs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def values(self, metric: str, **dimensions: str) -> list[float]:
        """Every value of `metric` written under exactly these dimensions."""
        found: list[float] = []
        for blob in self.blobs():
            (directive,) = blob["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == metrics.NAMESPACE
            (names,) = directive["Dimensions"]  # one dimension set per line, never Powertools' `service`
            if set(names) != set(dimensions) or any(blob[k] != v for k, v in dimensions.items()):
                continue
            if metric in {m["Name"] for m in directive["Metrics"]}:
                value = blob[metric]
                found += value if isinstance(value, list) else [value]
        return found

    def total(self, metric: str, **dimensions: str) -> float:
        return sum(self.values(metric, **dimensions))


def recording(stack: Stack) -> Emitted:
    """The stack's telemetry, writing its EMF lines here instead of stdout (installed before any use case exists)."""
    emitted = Emitted()
    stack.container.__dict__["telemetry"] = EmfTelemetry(write=emitted.lines.append)
    return emitted


