"""What a service knows of its broker, and how it reaches it without depending on it.

Intake must not wait for the broker: a state change and its events go to the outbox in one
transaction, and the relay publishes them whenever the broker answers. So a service starts with the
broker away; its broker clients come up in the background (``until_reachable`` retries each step with
backoff) and ``watch`` keeps probing it, so /ready's body and ``pingan_broker_up`` say whether it
answers, without making the service unready.

Two kinds of failure are told apart. The broker is *unreachable* when no answer comes (refused or lost
connections, timeouts) or the answer is a passing state (a leader election, a coordinator loading): that
heals by itself, a warning is enough. The broker is *refusing* when it answers with an error that will stay
until someone acts (a replication factor above the broker count, no permission to create topics, an invalid
topic config): that is logged at error level and reported as ``refusing: <error>``. Both are retried
forever (an operator may fix the cause at any time) and neither makes the service unready: intake goes on
into the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import BrokerResponseError
from prometheus_client import Gauge

from pingan_shared.clock import Clock, SystemClock
from pingan_shared.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")

_FIRST_BACKOFF_SECONDS = 0.2
_MAX_BACKOFF_SECONDS = 5.0
# A refusal lasts until someone acts: retried less often, so its error lines do not flood the log.
_MAX_REFUSED_BACKOFF_SECONDS = 30.0


class BrokerRefused(RuntimeError):
    """The broker answered, with an error that retrying will not cure (e.g. a topic it will not create)."""


def is_refusal(error: BaseException) -> bool:
    """True for an error answer of a reachable broker that stays until someone acts; False for a missing
    answer (connection refused or lost, timeout) or a passing state the broker reports as retriable."""
    if isinstance(error, BrokerRefused):
        return True
    return isinstance(error, BrokerResponseError) and not error.retriable


class BrokerStatus:
    """The broker as last seen: ok, refusing (it answers with an error that stays until someone acts), or
    unreachable since when and why (wall-clock time, for operators)."""

    def __init__(self, gauge: Gauge, *, wall: Clock | None = None) -> None:
        self._gauge = gauge
        self._wall = wall or SystemClock()
        self._ok = False
        self._since: datetime | None = None
        self._error = "not contacted yet"
        self._refusal: str | None = None
        gauge.set(0)

    @property
    def ok(self) -> bool:
        return self._ok

    @property
    def refusing(self) -> bool:
        return self._refusal is not None

    def reachable(self) -> None:
        self._ok, self._since, self._refusal = True, None, None
        self._gauge.set(1)

    def unreachable(self, error: BaseException) -> None:
        if self._ok or self._since is None:  # keep the start of an outage, not of its latest failure
            self._since = self._wall.now()
        self._ok, self._refusal = False, None
        self._error = _text(error)
        self._gauge.set(0)

    def refused(self, error: BaseException) -> None:
        """The broker answered with ``error`` (see ``is_refusal``). Not usable, so ``pingan_broker_up`` is 0."""
        self._ok, self._since, self._refusal = False, None, _text(error)
        self._gauge.set(0)

    def failed(self, error: BaseException) -> None:
        """Record a failed step as a refusal or as the broker being unreachable, whichever it is."""
        if is_refusal(error):
            self.refused(error)
        else:
            self.unreachable(error)

    def describe(self) -> str:
        if self._ok:
            return "ok"
        if self._refusal is not None:
            return f"refusing: {self._refusal}"
        if self._since is None:
            return f"connecting ({self._error})"
        return f"unreachable since {self._since.isoformat(timespec='seconds')} ({self._error})"


async def until_reachable(
    step: str, attempt: Callable[[], Awaitable[T]], status: BrokerStatus, *, on_failure: Callable[[], None]
) -> T:
    """``attempt()`` until it succeeds, with backoff; every failure is reported to ``status``, as a
    refusal (logged at error level) or as the broker being away (a warning). A step is retried, never
    given up: the cause of a refusal may be fixed at any time."""
    backoff = _FIRST_BACKOFF_SECONDS
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            status.failed(exc)
            on_failure()
            if status.refusing:
                log.error("broker refuses; will retry", step=step, error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_REFUSED_BACKOFF_SECONDS)
                continue
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
            if is_refusal(exc):
                if not status.refusing:
                    log.error("broker refuses its metadata", error=repr(exc))
            elif status.ok:
                log.warning("broker not reachable", error=repr(exc))
            status.failed(exc)
        else:
            if not status.ok:
                log.info("broker reachable again")
            status.reachable()
        await asyncio.sleep(every_seconds)


def _text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
