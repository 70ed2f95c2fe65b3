"""Metrics in CloudWatch embedded metric format (EMF): collected during an invocation, written to stdout at its end
(`observability.observe` flushes), one EMF line per dimension set, serialized by Powertools' EMF provider.

Powertools is imported by the first flush that has something to write: an API request that records nothing (every
2xx answer) never imports it, so the API's cold start does not grow.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from typing import Any

from chalicelib import metrics

Unit = str
_Dimensions = tuple[tuple[str, str], ...]
VALUES_PER_LINE = 99  # below EMF's (and Powertools') 100 values per metric and 100 metrics per line
MAX_PENDING = 1000  # values held before a flush is forced (a caller that never flushes, e.g. the local stack's jobs)


def _stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class EmfTelemetry:
    def __init__(self, write: Callable[[str], None] = _stdout_line, namespace: str = metrics.NAMESPACE) -> None:
        self._write = write
        self._namespace = namespace
        self._lock = threading.Lock()
        self._pending: dict[_Dimensions, list[tuple[str, Unit, float]]] = {}

    def count(self, metric: str, value: float = 1, **dimensions: str) -> None:
        self._add(metric, "Count", value, dimensions)

    def seconds(self, metric: str, value: float, **dimensions: str) -> None:
        self._add(metric, "Seconds", value, dimensions)

    def _add(self, metric: str, unit: Unit, value: float, dimensions: dict[str, str]) -> None:
        key = tuple(sorted(dimensions.items()))
        with self._lock:
            self._pending.setdefault(key, []).append((metric, unit, float(value)))
            held = sum(len(values) for values in self._pending.values())
        if held >= MAX_PENDING:
            self.flush()

    def flush(self) -> None:
        """Writes what was recorded since the last flush; never raises (metrics must not fail the invocation)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for dimensions, all_values in pending.items():
            # EMF takes at most 100 values per metric and 100 metrics per line; Powertools prints a full set itself
            # (past `write`) when one reaches 100, so each line carries fewer.
            for start in range(0, len(all_values), VALUES_PER_LINE):
                values = all_values[start : start + VALUES_PER_LINE]
                try:
                    self._write(json.dumps(self._emf(dimensions, values), separators=(",", ":")))
                except Exception:  # a bad value loses its line, not the response
                    import logging

                    logging.getLogger(__name__).exception("metrics %s could not be written", [v[0] for v in values])

    def _emf(self, dimensions: _Dimensions, values: list[tuple[str, Unit, float]]) -> dict[str, Any]:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

        provider = AmazonCloudWatchEMFProvider(namespace=self._namespace)
        # Powertools would add a `service` dimension (from POWERTOOLS_SERVICE_NAME); the alarms watch exact dimensions.
        provider.service = None  # type: ignore[assignment]
        for name, value in dimensions:
            provider.add_dimension(name=name, value=value)
        for metric, unit, number in values:
            provider.add_metric(name=metric, unit=unit, value=number)
        return dict(provider.serialize_metric_set())
