from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pingan_shared.clock import FixedClock
from pingan_shared.messaging.consumer import ConsumerSpec, InboxConsumer
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.metrics import Metrics
from pingan_stack.harness import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS
from pingan_stack.testing import SAMPLE_TIME, in_background

# The fresh database with the platform tables is the `pool` fixture of pingan_stack.testing.


@pytest.fixture
def metrics() -> Metrics:
    return Metrics("test")


@pytest.fixture
async def producer(kafka_bootstrap_servers: str) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer with the services' settings, on the test broker."""
    producer = build_producer(kafka_bootstrap_servers, client_id="test")
    await producer.start()
    yield producer
    await producer.stop()


# --- helpers (import them with `from .conftest import …`) ----------------------------------------------


def inbox_consumer(pool: asyncpg.Pool, metrics: Metrics, bootstrap: str, prefix: str, spec: ConsumerSpec, *,
                   service: str = "test", **options: Any) -> InboxConsumer:
    """An inbox consumer as these tests run one: a fixed clock, dead letters to ``<prefix>deadletter.test``,
    a 2 s session with 0.5 s heartbeats (a member that leaves is noticed quickly); ``options`` as the
    consumer takes them (batch_size, catalog …)."""
    return InboxConsumer(
        service=service, spec=spec, pool=pool, clock=FixedClock(SAMPLE_TIME), metrics=metrics,
        bootstrap_servers=bootstrap, topic_prefix=prefix, deadletter_topic=f"{prefix}deadletter.test",
        session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS, **options,
    )


@contextlib.asynccontextmanager
async def running(consumer: InboxConsumer) -> AsyncIterator[asyncio.Task[None]]:
    """The consumer started and its run() as a task; cancelled and stopped on the way out, where an error its
    run() ended with is raised."""
    await consumer.start()
    try:
        async with in_background(consumer.run()) as task:
            yield task
    finally:
        await consumer.stop()


async def rewind_group(bootstrap: str, topic: str, group: str) -> None:
    """Commit offset 0 for ``group`` on every partition of ``topic``: an operator's replay, or what a broker
    that forgot the topic leaves."""
    rewinder = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS)
    await rewinder.start()
    try:
        while not rewinder.assignment():
            await rewinder.getmany(timeout_ms=200)
        await rewinder.commit(dict.fromkeys(rewinder.assignment(), 0))
    finally:
        await rewinder.stop()
