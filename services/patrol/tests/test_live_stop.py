"""The live coverage app stops in bounded time, also when its broker is gone, and leaves nothing behind.

A stop during a broker outage used to wait a whole minute for faust's consumer thread to report its shutdown (mode's
default), holding patrol's shutdown (and a test session's event loop at its close) that long.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from mode.threads import WorkerThread

from patrol.live.settings import LiveCoverageSettings
from patrol.live.stream import CONSUMER_THREAD_STOP_SECONDS, LiveCoverage
from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.embedded import EmbeddedKafka
from pingan_stack.harness import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS

# what a stop may take at most: the consumer thread's bound and a margin for a loaded machine (the old wait was 60 s)
STOP_BOUND_SECONDS = CONSUMER_THREAD_STOP_SECONDS + 10



def live_on(broker: EmbeddedKafka) -> LiveCoverage:
    platform = PlatformSettings(pingan_env="test", kafka_bootstrap_servers=broker.bootstrap_servers,
                                kafka_topic_prefix=f"t{uuid.uuid4().hex[:10]}.", kafka_topic_partitions=3,
                                kafka_session_timeout_ms=SESSION_TIMEOUT_MS,
                                kafka_heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS)
    return LiveCoverage(platform, LiveCoverageSettings(), FixedClock(datetime(2026, 3, 2, 8, tzinfo=UTC)))


async def started(live: LiveCoverage) -> tuple[asyncio.Task[None], str]:
    task = asyncio.create_task(live.run())
    deadline = time.monotonic() + 30
    while not live.running:
        assert time.monotonic() < deadline, "the live coverage app did not start"
        assert not task.done(), task
        await asyncio.sleep(0.05)
    assert live._datadir is not None and is_directory(live._datadir)
    return task, live._datadir


async def stop_within(task: asyncio.Task[None], seconds: float) -> float:
    began = time.monotonic()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=seconds)
    assert done, f"the live coverage app did not stop within {seconds} s"
    return time.monotonic() - began


def is_directory(path: str) -> bool:
    return Path(path).is_dir()


def faust_threads() -> list[threading.Thread]:
    """The consumer threads of faust apps still alive (mode's WorkerThread: not a daemon, it holds the exit)."""
    return [t for t in threading.enumerate() if isinstance(t, WorkerThread) and t.is_alive()]


async def test_a_stop_with_the_broker_up_is_prompt_and_removes_the_data_directory(own_broker: EmbeddedKafka) -> None:
    live = live_on(own_broker)
    task, datadir = await started(live)
    await stop_within(task, STOP_BOUND_SECONDS)
    assert not is_directory(datadir), "the app's data directory is left behind"
    assert not faust_threads(), faust_threads()


async def test_a_stop_while_the_broker_is_gone_ends_in_bounded_time(own_broker: EmbeddedKafka) -> None:
    live = live_on(own_broker)
    task, datadir = await started(live)
    own_broker.stop()
    await asyncio.sleep(2)  # the app's consumer notices: fetches fail, the coordinator is marked dead
    await stop_within(task, STOP_BOUND_SECONDS)
    assert not is_directory(datadir), "the app's data directory is left behind"
    assert not faust_threads(), f"threads left running: {faust_threads()}"
