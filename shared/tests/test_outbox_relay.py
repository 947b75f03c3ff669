"""The outbox relay against a real broker and database: order per key, no loss across a crash."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from pingan_shared.messaging.kafka import ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay, enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.testing import read_topic, sample_factory, sample_scan_event

TEAMS = [f"team-{i}" for i in range(8)]
PER_TEAM = 60


class CrashingProducer:
    """Publishes for real, then fails mid-batch: the relay process 'dies' between publish and mark."""

    def __init__(self, inner: AIOKafkaProducer, fail_after: int) -> None:
        self._inner = inner
        self._left = fail_after

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        if self._left == 0:
            raise KafkaConnectionError("simulated crash")
        self._left -= 1
        return await self._inner.send(*args, **kwargs)


async def _fill_outbox(pool: asyncpg.Pool, prefix: str, bootstrap: str) -> list[str]:
    """The scans topic, and the outbox holding PER_TEAM events for each team; returns their event ids."""
    await ensure_topics(bootstrap, [f"{prefix}patrol.scans"], partitions=3, replication_factor=1)
    factory = sample_factory(prefix)
    items = [sample_scan_event(factory, team, seq) for seq in range(PER_TEAM) for team in TEAMS]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, items)
    return [str(envelope.event_id) for _, envelope in items]


async def test_relay_publishes_in_order_per_key_and_loses_nothing_across_a_crash(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    topic = f"{topic_prefix}patrol.scans"
    event_ids = await _fill_outbox(pool, topic_prefix, kafka_bootstrap_servers)
    total = len(event_ids)

    crashing = OutboxRelay(pool, CrashingProducer(producer, fail_after=130), metrics,  # type: ignore[arg-type]
                           batch_size=200)
    with pytest.raises(KafkaConnectionError):
        await crashing.publish_batch()
    # the crash left every row unsent: its transaction never committed
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == total

    relay = OutboxRelay(pool, producer, metrics, batch_size=200)
    while await relay.publish_batch():
        pass
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

    records = await read_topic(kafka_bootstrap_servers, topic, expected=total + 130)
    seen_ids = [r.headers[2][1].decode() for r in records]  # type: ignore[attr-defined]
    assert set(seen_ids) == set(event_ids), "every outbox row reached the topic"
    assert len(records) == total + 130, "the crash re-published exactly the 130 sent before it"

    # order per key, first occurrences only (consumers drop redeliveries by event id)
    first_seen: dict[str, list[int]] = defaultdict(list)
    delivered: set[str] = set()
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):  # type: ignore[attr-defined]
        envelope = json.loads(record.value)  # type: ignore[attr-defined]
        if envelope["event_id"] in delivered:
            continue
        delivered.add(envelope["event_id"])
        first_seen[envelope["key"]].append(int(envelope["payload"]["scan_id"].rsplit("-", 1)[1]))
    assert set(first_seen) == set(TEAMS)
    for team, sequence in first_seen.items():
        assert sequence == list(range(PER_TEAM)), f"{team} out of order"
        # and a key always lands on one partition
    partitions_per_key = defaultdict(set)
    for record in records:
        partitions_per_key[record.key].add(record.partition)  # type: ignore[attr-defined]
    assert all(len(p) == 1 for p in partitions_per_key.values())


async def test_only_one_relay_publishes_at_a_time(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, topic_prefix: str,
    kafka_bootstrap_servers: str,
) -> None:
    await _fill_outbox(pool, topic_prefix, kafka_bootstrap_servers)
    other = await pool.acquire()
    try:
        async with other.transaction():
            await other.execute("SELECT pg_advisory_xact_lock($1)", 0x4F555442)
            # a second replica holds the relay lock: this one stands by instead of interleaving
            assert await OutboxRelay(pool, producer, metrics).publish_batch() == 0
    finally:
        await pool.release(other)
    assert await OutboxRelay(pool, producer, metrics, batch_size=1000).publish_batch() == len(TEAMS) * PER_TEAM


async def test_the_relay_wakes_on_new_rows_instead_of_waiting_for_its_poll(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, topic_prefix: str,
    kafka_bootstrap_servers: str,
) -> None:
    import asyncio
    import contextlib
    import time

    await ensure_topics(kafka_bootstrap_servers, [f"{topic_prefix}patrol.scans"], partitions=3, replication_factor=1)
    relay = OutboxRelay(pool, producer, metrics, idle_poll_seconds=60)  # polling alone would take a minute
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.5)  # idle: listening
        started = time.monotonic()
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, [sample_scan_event(sample_factory(topic_prefix), "一队", 1)])
        while await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            assert time.monotonic() - started < 5, "the relay did not wake on NOTIFY"
            await asyncio.sleep(0.02)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_relay_stopped_while_it_starts_listening_gives_its_connection_back(
    database_url: str, metrics: Metrics, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stopping a service right after it started (a short test, a quick restart) cancelled the relay inside
    # add_listener: the connection it had just acquired was never released and pool.close() waited forever.
    import asyncio

    from pingan_shared.db.pool import create_pool

    started = asyncio.Event()

    async def slow_add_listener(self: asyncpg.Connection, *_: object) -> None:
        started.set()
        await asyncio.sleep(3600)

    monkeypatch.setattr(asyncpg.Connection, "add_listener", slow_add_listener)
    pool = await create_pool(database_url, max_size=2)
    relay = OutboxRelay(pool, producer=None, metrics=metrics)  # type: ignore[arg-type]
    running = asyncio.create_task(relay.run())
    await asyncio.wait_for(started.wait(), 10)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await asyncio.wait_for(pool.close(), 10)  # timed out before: a connection never came home


async def test_a_relay_that_does_not_hold_the_lock_still_reports_the_backlog(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, topic_prefix: str, kafka_bootstrap_servers: str,
) -> None:
    # A standby replica's relay returned before counting: its gauge kept whatever it last saw, forever.
    await _fill_outbox(pool, topic_prefix, kafka_bootstrap_servers)
    standby_metrics = Metrics("standby")
    standby_metrics.outbox_backlog.set(7)  # a stale value from when this replica last published
    other = await pool.acquire()
    try:
        async with other.transaction():
            await other.execute("SELECT pg_advisory_xact_lock($1)", 0x4F555442)  # another replica publishes
            assert await OutboxRelay(pool, producer, standby_metrics).publish_batch() == 0
    finally:
        await pool.release(other)
    assert standby_metrics.registry.get_sample_value("pingan_outbox_backlog") == len(TEAMS) * PER_TEAM
