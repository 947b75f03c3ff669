"""What a service knows of its broker, and how it reaches it without depending on it.

Intake must not wait for the broker: a state change and its events go to the outbox in one
transaction, and the relay publishes them whenever the broker answers. So a service starts with the
broker away; its broker clients come up in the background (``until_reachable`` retries each step with
backoff) and ``watch`` keeps probing it, so /ready's body and ``pingan_broker_up`` say whether it
answers, without making the service unready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from aiokafka import AIOKafkaProducer
from prometheus_client import Gauge

from pingan_shared.clock import Clock, SystemClock
from pingan_shared.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")

_FIRST_BACKOFF_SECONDS = 0.2
_MAX_BACKOFF_SECONDS = 5.0


class BrokerStatus:
    """The broker as last seen: ok, or unreachable since when and why (wall-clock time, for operators)."""

    def __init__(self, gauge: Gauge, *, wall: Clock | None = None) -> None:
        self._gauge = gauge
        self._wall = wall or SystemClock()
        self._ok = False
        self._since: datetime | None = None
        self._error = "not contacted yet"
        gauge.set(0)

    @property
    def ok(self) -> bool:
        return self._ok

    def reachable(self) -> None:
        self._ok, self._since = True, None
        self._gauge.set(1)

    def unreachable(self, error: BaseException) -> None:
        if self._ok or self._since is None:  # keep the start of an outage, not of its latest failure
            self._since = self._wall.now()
        self._ok = False
        self._error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        self._gauge.set(0)

    def describe(self) -> str:
        if self._ok:
            return "ok"
        if self._since is None:
            return f"connecting ({self._error})"
        return f"unreachable since {self._since.isoformat(timespec='seconds')} ({self._error})"


async def until_reachable(
    step: str, attempt: Callable[[], Awaitable[T]], status: BrokerStatus, *, on_failure: Callable[[], None]
) -> T:
    """``attempt()`` until it succeeds, with backoff; every failure is reported to ``status``.
    Any exception counts as the broker being away: a step is retried, never given up."""
    backoff = _FIRST_BACKOFF_SECONDS
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            status.unreachable(exc)
            on_failure()
            log.warning("broker not reachable; will retry", step=step, error=repr(exc), retry_in=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
        else:
            status.reachable()
            return result


async def watch(producer: AIOKafkaProducer, status: BrokerStatus, *, every_seconds: float,
                timeout_seconds: float) -> None:
    """Probe the broker with a metadata request every ``every_seconds``, forever."""
    while True:
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout_seconds)
        except Exception as exc:
            if status.ok:
                log.warning("broker not reachable", error=repr(exc))
            status.unreachable(exc)
        else:
            if not status.ok:
                log.info("broker reachable again")
            status.reachable()
        await asyncio.sleep(every_seconds)
