"""The first response of a mutation sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class IdempotencyRecords(Protocol):
    def begin(self, scope: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
        """None: run the request. A dict: the stored response. Raises IdempotencyKeyReused (422: key reused for
        another request) or IdempotencyKeyInProgress (409: the first one is still running)."""

    def complete(self, scope: str, response: dict[str, Any]) -> None: ...

    def abandon(self, scope: str) -> None: ...
