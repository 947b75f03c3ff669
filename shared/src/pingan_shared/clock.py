"""One injectable clock for every rule that reads time.

Business rules never call ``datetime.now()``: they take a ``Clock`` so tests can pin or advance
time (a 28-day 211 cycle runs in seconds) and a demo can run in compressed time.
All clocks return timezone-aware UTC datetimes; local time zones are applied at the edges.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests.

    Whoever waits for time to pass (a timer runner) may ask to be told when it moves (``on_move``): a deadline the
    test moves past fires at once, without the runner polling the database many times a second."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._watchers: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        self._moved()

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)
        self._moved()

    def on_move(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` whenever the clock moves; returns what stops it."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback) if callback in self._watchers else None

    def _moved(self) -> None:
        for callback in list(self._watchers):
            callback()


class ScaledClock:
    """Compressed time for demos, anchored to a configured ``epoch``: ``epoch + (wall - epoch) * factor``.

    Scaled time is a function of the wall clock alone, so every process configured with the same epoch
    and factor reads the same "now" (give or take their hosts' clock skew, times the factor), and a
    restarted process continues from where the wall clock is, never going back. At the epoch itself
    scaled time equals the epoch; choose it when the demo starts, as time runs ``factor`` times faster
    from there on.
    """

    def __init__(self, factor: float, *, epoch: datetime, wall: Clock | None = None) -> None:
        if factor <= 0:
            raise ValueError("clock scale factor must be positive")
        if epoch.tzinfo is None:
            raise ValueError("the clock epoch needs a timezone (a UTC offset)")
        self._factor = factor
        self._epoch = epoch.astimezone(UTC)
        self._wall = wall or SystemClock()

    def now(self) -> datetime:
        return self._epoch + (self._wall.now() - self._epoch) * self._factor


class ClockSettings(Protocol):
    @property
    def pingan_clock_scale(self) -> float: ...

    @property
    def pingan_clock_epoch(self) -> datetime | None: ...


def clock_from_settings(settings: ClockSettings, *, wall: Clock | None = None) -> Clock:
    """The clock the platform settings configure: real time, or time scaled from PINGAN_CLOCK_EPOCH."""
    if settings.pingan_clock_scale == 1.0:
        return wall or SystemClock()
    if settings.pingan_clock_epoch is None:
        raise ValueError("a scaled clock needs PINGAN_CLOCK_EPOCH")  # PlatformSettings refuses this earlier
    return ScaledClock(settings.pingan_clock_scale, epoch=settings.pingan_clock_epoch, wall=wall)
