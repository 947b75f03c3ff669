"""A row the broker refuses for good is parked, and the rows after it go out; transient failures never park.

Over the real broker and database, except where a broker's behaviour has to be produced on demand (a produce
batch refused as a whole, a batch that expired): there a small fake stands in for the producer.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError, RecordListTooLargeError

from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.housekeeping import Housekeeper
from pingan_shared.messaging.kafka import ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay, enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.testing import SAMPLE_TIME, eventually, read_topic, sample_factory, sample_scan_event

# What the issue saw: 256 KiB of control bytes in a dead letter, each escaped to six characters in JSON.
CONTROL_BYTES = "\x01" * (256 * 1024)


def _oversized(topic: str, key: str) -> tuple[str, Envelope]:
    """An envelope far over the producer's max_request_size (1 MiB) once encoded."""
    envelope = Envelope(event_id=uuid.uuid4(), type=SCAN_ACCEPTED, schema_version=1, occurred_at=SAMPLE_TIME,
                        producer="test", key=key, correlation_id=uuid.uuid4(), payload={"raw": CONTROL_BYTES})
    assert len(envelope.to_bytes()) > 1024 * 1024 + len(CONTROL_BYTES)
    return topic, envelope


def _gauge(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    assert value is not None, f"{name} is not exported"
    return value


async def test_an_oversized_row_is_parked_and_every_row_after_it_is_published(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    scans, other = f"{topic_prefix}patrol.scans", f"{topic_prefix}other.topic"
    await ensure_topics(kafka_bootstrap_servers, [scans, other], partitions=3, replication_factor=1)
    factory = sample_factory(topic_prefix)
    before = sample_scan_event(factory, "一队", 1)
    bad = _oversized(scans, "一队")
    after_same_key = sample_scan_event(factory, "一队", 2)
    after_other_topic = (other, sample_scan_event(factory, "二队", 3)[1])
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [before, bad, after_same_key, after_other_topic])

    relay = OutboxRelay(pool, producer, metrics, batch_size=2)  # the bad row ends one batch, the next goes on
    while await relay.publish_batch():
        pass

    published = await read_topic(kafka_bootstrap_servers, scans, expected=2)
    assert [json.loads(r.value)["event_id"] for r in published] == [  # type: ignore[attr-defined]
        str(before[1].event_id), str(after_same_key[1].event_id)]
    assert len(await read_topic(kafka_bootstrap_servers, other, expected=1)) == 1

    parked = await pool.fetch("SELECT event_id, sent_at, parked_error FROM outbox WHERE parked_at IS NOT NULL")
    assert [r["event_id"] for r in parked] == [bad[1].event_id]
    assert parked[0]["sent_at"] is None
    assert "MessageSizeTooLarge" in parked[0]["parked_error"]
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL") == 0
    assert _gauge(metrics, "pingan_outbox_parked") == 1
    assert _gauge(metrics, "pingan_outbox_backlog") == 0


async def test_a_row_for_a_topic_no_broker_can_have_is_parked_without_waiting_for_metadata(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    scans = f"{topic_prefix}patrol.scans"
    await ensure_topics(kafka_bootstrap_servers, [scans], partitions=3, replication_factor=1)
    factory = sample_factory(topic_prefix)
    bad = ("patrol scans / with spaces", sample_scan_event(factory, "一队", 1)[1])
    good = sample_scan_event(factory, "一队", 2)
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [bad, good])

    # aiokafka would wait request_timeout_ms (15 s) for metadata of an illegal name, then call it retriable
    handled = await asyncio.wait_for(OutboxRelay(pool, producer, metrics).publish_batch(), timeout=10)

    assert handled == 2
    assert len(await read_topic(kafka_bootstrap_servers, scans, expected=1)) == 1
    error = await pool.fetchval("SELECT parked_error FROM outbox WHERE event_id = $1", bad[1].event_id)
    assert error is not None and "InvalidTopic" in error


class BrokerLike:
    """A producer whose broker refuses a whole produce batch (as Kafka does) when one record in it is over
    ``limit`` bytes; a batch is what was sent before the relay next waited. ``expire`` fails every delivery
    with the error of an expired batch instead."""

    def __init__(self, *, limit: int = 10**9, expire: bool = False) -> None:
        self.limit, self.expire = limit, expire
        self.published: list[bytes] = []
        self._batch: list[tuple[bytes, asyncio.Future[None]]] = []

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self._batch:
            asyncio.get_running_loop().call_soon(self._flush)
        self._batch.append((value, future))
        return future

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        refused = any(len(value) > self.limit for value, _ in batch)
        for value, future in batch:
            if self.expire:
                future.set_exception(KafkaTimeoutError())
            elif refused:
                future.set_exception(RecordListTooLargeError())
            else:
                self.published.append(value)
                future.set_result(None)


async def test_a_batch_the_broker_refuses_is_retried_row_by_row_and_only_the_culprit_is_parked(
    pool: asyncpg.Pool, metrics: Metrics, topic_prefix: str,
) -> None:
    factory = sample_factory(topic_prefix)
    good = [sample_scan_event(factory, "一队", n) for n in range(3)]
    bad = _oversized(good[0][0], "一队")
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [good[0], bad, good[1], good[2]])
    broker = BrokerLike(limit=100_000)

    assert await OutboxRelay(pool, broker, metrics).publish_batch() == 4  # type: ignore[arg-type]

    assert [json.loads(v)["event_id"] for v in broker.published] == [str(e.event_id) for _, e in good]
    rows = await pool.fetch("SELECT event_id, sent_at IS NOT NULL AS sent, parked_error FROM outbox ORDER BY id")
    assert [(r["event_id"], r["sent"]) for r in rows] == [
        (good[0][1].event_id, True), (bad[1].event_id, False), (good[1][1].event_id, True),
        (good[2][1].event_id, True)]
    assert "RecordListTooLarge" in rows[1]["parked_error"]


async def test_transient_failures_keep_rows_unsent_and_never_park_them(
    pool: asyncpg.Pool, metrics: Metrics, topic_prefix: str,
) -> None:
    factory = sample_factory(topic_prefix)
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, "一队", n) for n in range(3)])

    # an expired batch: aiokafka calls KafkaTimeoutError not retriable, but the broker was only away
    with pytest.raises(KafkaTimeoutError):
        await OutboxRelay(pool, BrokerLike(expire=True), metrics).publish_batch()  # type: ignore[arg-type]

    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL") == 3


async def test_the_backlog_gauge_reports_the_rows_still_to_publish(
    pool: asyncpg.Pool, metrics: Metrics, topic_prefix: str,
) -> None:
    factory = sample_factory(topic_prefix)
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, "一队", n) for n in range(30)])
    relay = OutboxRelay(pool, BrokerLike(), metrics, batch_size=10)  # type: ignore[arg-type]

    assert await relay.publish_batch() == 10
    assert _gauge(metrics, "pingan_outbox_backlog") == 20

    # the broker goes away: the relay cannot publish, and the gauge must say how much is waiting
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, "二队", n) for n in range(5)])
    stuck_metrics = Metrics("stuck")
    stuck = OutboxRelay(pool, BrokerLike(expire=True), stuck_metrics, batch_size=10)  # type: ignore[arg-type]
    running = asyncio.create_task(stuck.run())
    try:
        async def reported() -> bool:
            return stuck_metrics.registry.get_sample_value("pingan_outbox_backlog") == 25

        await eventually(reported, timeout=20, what="the stuck relay to report its backlog")
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running


async def test_housekeeping_never_purges_a_parked_row(pool: asyncpg.Pool, topic_prefix: str) -> None:
    factory = sample_factory(topic_prefix)
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, "一队", n) for n in range(2)])
    await pool.execute("UPDATE outbox SET parked_at = now() - interval '90 days', parked_error = 'refused', "
                       "created_at = now() - interval '90 days' WHERE id = 1")
    await pool.execute("UPDATE outbox SET sent_at = now() - interval '90 days', "
                       "first_sent_at = now() - interval '90 days' "
                       "WHERE id = 2")

    await Housekeeper(pool, outbox_retention=timedelta(hours=1), inbox_retention=timedelta(days=1)).purge()

    assert [r["id"] for r in await pool.fetch("SELECT id FROM outbox")] == [1]
