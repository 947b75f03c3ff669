"""Faults of the inbox consumer against a real broker and database: a rebalance in the middle of a batch,
records with any key and value bytes, poison at a position reused after a topic was recreated, dead
letters too large to publish. Whatever happens, every record ends handled (or ignored, for another
event type) or dead-lettered, and the consumer keeps running."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from pydantic import BaseModel

from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.contracts import ScanAcceptedV1
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import ConsumerSpec, Handler, InboxConsumer
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay
from pingan_shared.metrics import Metrics
from pingan_stack.testing import SAMPLE_TIME, eventually, sample_factory, sample_scan_event

GROUP = "test.faults"
# What a producer with default settings can send at most; a dead letter must always fit under it.
PRODUCER_MAX_REQUEST_BYTES = 1_048_576


@pytest.fixture
async def producer(kafka_bootstrap_servers: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = build_producer(kafka_bootstrap_servers, client_id="test")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def handled_table(pool: asyncpg.Pool) -> None:
    await pool.execute(
        """CREATE TABLE handled (event_id uuid PRIMARY KEY, key text NOT NULL, team_id text NOT NULL,
                                 member text NOT NULL, times int NOT NULL)""")


def _recording_handler(member: str = "only", before: Callable[[], Awaitable[None]] | None = None) -> Handler:
    """Stores the envelope's key and team as text (as real handlers do), and counts deliveries."""

    async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        assert isinstance(payload, ScanAcceptedV1)
        if before is not None:
            await before()
        await conn.execute(
            """INSERT INTO handled (event_id, key, team_id, member, times) VALUES ($1, $2, $3, $4, 1)
               ON CONFLICT (event_id) DO UPDATE SET times = handled.times + 1""",
            envelope.event_id, envelope.key, payload.team_id, member,
        )

    return handle


def _consumer(pool: asyncpg.Pool, metrics: Metrics, bootstrap: str, prefix: str, *, service: str = "test",
              handler: Handler | None = None) -> InboxConsumer:
    return InboxConsumer(
        service=service, spec=ConsumerSpec(GROUP, {SCAN_ACCEPTED: handler or _recording_handler()}), pool=pool,
        clock=FixedClock(SAMPLE_TIME), metrics=metrics, bootstrap_servers=bootstrap, topic_prefix=prefix,
        deadletter_topic=f"{prefix}deadletter.test", batch_size=50, session_timeout_ms=3_000,
        heartbeat_interval_ms=500,
    )


@contextlib.asynccontextmanager
async def _running(consumer: InboxConsumer) -> AsyncIterator[asyncio.Task[None]]:
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()


def _alive(task: asyncio.Task[None]) -> None:
    """Fails the test with the consumer's own error as soon as its run() ended."""
    if task.done():
        raise AssertionError(f"the consumer stopped: {task.exception() if not task.cancelled() else 'cancelled'!r}")


async def _dead_letters(pool: asyncpg.Pool, prefix: str) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT key, value FROM outbox WHERE topic = $1 ORDER BY id", f"{prefix}deadletter.test")
    return [{"key": row["key"], "bytes": len(row["value"]), "envelope": Envelope.from_bytes(row["value"])}
            for row in rows]


async def _publish_outbox(pool: asyncpg.Pool, bootstrap: str, metrics: Metrics) -> int:
    producer = build_producer(bootstrap, client_id="relay")
    await producer.start()
    try:
        relay, total = OutboxRelay(pool, producer, metrics), 0
        while published := await relay.publish_batch():
            total += published
        return total
    finally:
        await producer.stop()


# --- item 1: a rebalance in the middle of a batch -------------------------------------------------------


async def test_a_partition_revoked_mid_batch_never_stops_the_consumer(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, handled_table: None,
) -> None:
    topic = f"{topic_prefix}patrol.scans"
    # one partition: when the second member joins, the partition in the blocked batch is the one that moves
    await ensure_topics(kafka_bootstrap_servers, [topic, f"{topic_prefix}deadletter.test"], partitions=1,
                        replication_factor=1)
    partition = TopicPartition(topic, 0)
    factory = sample_factory(topic_prefix)
    gate, entered = asyncio.Event(), asyncio.Event()

    async def block_first_event() -> None:
        if not gate.is_set():
            entered.set()
            await gate.wait()

    async def publish(seq: int) -> Envelope:
        envelope = sample_scan_event(factory, "team-r", seq)[1]
        await (await producer.send(topic, value=envelope.to_bytes(), key=b"team-r"))
        return envelope

    async def handled_by(envelope: Envelope, member: str, *tasks: asyncio.Task[None]) -> bool:
        for task in tasks:
            _alive(task)
        row = await pool.fetchrow("SELECT member, times FROM handled WHERE event_id = $1", envelope.event_id)
        return row is not None and (row["member"], row["times"]) == (member, 1)

    # Member ids start with the client id (service name), and the assignors give a lone partition to the
    # first member id in order: "zz-first" loses it to "aa-second".
    first = _consumer(pool, metrics, kafka_bootstrap_servers, topic_prefix, service="zz-first",
                      handler=_recording_handler("first", before=block_first_event))
    second = _consumer(pool, metrics, kafka_bootstrap_servers, topic_prefix, service="aa-second",
                       handler=_recording_handler("second"))
    e1 = await publish(1)
    async with _running(first) as first_task:
        async def first_blocked() -> bool:
            _alive(first_task)
            return entered.is_set()

        await eventually(first_blocked, what="the first member blocked in its handler")
        async with _running(second) as second_task:
            async def moved() -> bool:
                _alive(first_task)
                return partition not in first.assignment() and partition in second.assignment()

            await eventually(moved, what="the blocked batch's partition moved to the second member")
            gate.set()  # the first member finishes a batch whose partition it no longer holds
            await eventually(lambda: handled_by(e1, "first", first_task, second_task),
                             what="the blocked event handled once")
            e2 = await publish(2)
            await eventually(lambda: handled_by(e2, "second", first_task, second_task),
                             what="the second member handling the partition")
        # the second member left: the first takes the partition back and carries on
        e3 = await publish(3)
        await eventually(lambda: handled_by(e3, "first", first_task), what="the first member handling again")
    assert await pool.fetchval("SELECT sum(times) FROM handled") == 3
