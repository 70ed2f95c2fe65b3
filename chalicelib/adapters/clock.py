from __future__ import annotations

import threading
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SettableClock:
    """The local stack's clock: real time until set, so a developer can jump to a deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset: datetime | None = None
        self._set_at: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            real = datetime.now(UTC)
            if self._offset is None or self._set_at is None:
                return real
            return self._offset + (real - self._set_at)

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._offset, self._set_at = moment, datetime.now(UTC)

    def reset(self) -> None:
        with self._lock:
            self._offset = self._set_at = None

    @property
    def is_set(self) -> bool:
        return self._offset is not None


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.moment = self.moment + timedelta(**delta)
