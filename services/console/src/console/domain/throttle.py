"""The sign-in throttle: too many failures within a window lock an account name (or a client address) until the
oldest of them leaves the window. Counted from stored failures, so every replica agrees and a restart forgets
nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottleRule:
    limit: int  # failures within the window that lock
    window: timedelta

    def since(self, now: datetime) -> datetime:
        """Failures at or after this moment count."""
        return now - self.window

    def locked_until(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """When the lock lifts (the ``limit``-th most recent failure leaves the window), or None if not locked.
        ``failures``: the failure times, any order; those outside the window are ignored."""
        recent = sorted(t for t in failures if t > now - self.window)
        if len(recent) < self.limit:
            return None
        return recent[-self.limit] + self.window
