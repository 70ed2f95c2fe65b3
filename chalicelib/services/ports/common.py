"""Ports every capability may use: the clock, a job's time budget, the link secret, the agreement catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from chalicelib.domain.agreements import AgreementText


class Clock(Protocol):
    def now(self) -> datetime: ...


TimeLeft = Callable[[], float]
"""Seconds a job may still run before it must stop cleanly."""

LinkSecret = Callable[[], bytes]
"""The secret activation links are derived from (fetched lazily, cached by the adapter)."""


class AgreementCatalog(Protocol):
    def current(self, country: str, language: str) -> AgreementText: ...

    def get(self, country: str, language: str, version: str) -> AgreementText | None: ...
