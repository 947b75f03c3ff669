"""One injectable clock for every rule that reads time.

Business rules never call ``datetime.now()``: they take a ``Clock`` so tests can pin or advance
time (a 28-day 211 cycle runs in seconds) and a demo can run in compressed time.
All clocks return timezone-aware UTC datetimes; local time zones are applied at the edges.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


class ScaledClock:
    """Runs ``factor`` times faster than real time from ``origin``: for demos in compressed time."""

    def __init__(self, factor: float, origin: datetime | None = None) -> None:
        if factor <= 0:
            raise ValueError("clock scale factor must be positive")
        self._factor = factor
        self._origin = (origin or datetime.now(UTC)).astimezone(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        elapsed = time.monotonic() - self._started
        return self._origin + timedelta(seconds=elapsed * self._factor)


def clock_from_scale(scale: float) -> Clock:
    return SystemClock() if scale == 1.0 else ScaledClock(scale)
