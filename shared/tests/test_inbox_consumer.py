"""The inbox consumer against a real broker and database: redelivery is a no-op, poison goes to
the dead-letter topic while the partition keeps moving."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.contracts import ScanAcceptedV2
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import ConsumerSpec, HandlerRejected
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.metrics import Metrics
from pingan_stack.testing import eventually, read_topic, sample_factory, sample_scan_event

from .conftest import inbox_consumer, rewind_group, running


async def _counting_handler(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
    assert isinstance(payload, ScanAcceptedV2)
    if payload.member_id == "poison":
        raise HandlerRejected("member 'poison' can never be applied")
    # deliberately not idempotent on its own: only the inbox stands between a redelivery and a double count
    await conn.execute(
        """INSERT INTO handled (team_id, times) VALUES ($1, 1)
           ON CONFLICT (team_id) DO UPDATE SET times = handled.times + 1""",
        payload.team_id,
    )


@pytest.fixture
async def handled_table(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE handled (team_id text PRIMARY KEY, times int NOT NULL)")


@pytest.fixture(autouse=True)
async def _topics(kafka_bootstrap_servers: str, topic_prefix: str) -> None:
    await ensure_topics(kafka_bootstrap_servers, [f"{topic_prefix}patrol.scans", f"{topic_prefix}deadletter.test"],
                        partitions=3, replication_factor=1)


async def _publish(producer: AIOKafkaProducer, topic: str, value: bytes, key: bytes) -> None:
    await (await producer.send(topic, value=value, key=key))


async def _consume(pool: asyncpg.Pool, metrics: Metrics, bootstrap: str, prefix: str,
                   until: Callable[[], Any]) -> None:
    consumer = inbox_consumer(pool, metrics, bootstrap, prefix,
                              ConsumerSpec("test.counter", {SCAN_ACCEPTED: _counting_handler}), batch_size=50)
    async with running(consumer):
        await eventually(until, timeout=30, what="consumer to catch up")


async def test_redelivered_events_are_handled_once(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, handled_table: None,
) -> None:
    factory = sample_factory(topic_prefix)
    events = [sample_scan_event(factory, f"team-{i % 5}", i) for i in range(100)]
    # every event published twice: what a relay crash between publish and mark produces
    for _ in range(2):
        for topic, envelope in events:
            await _publish(producer, topic, envelope.to_bytes(), envelope.key.encode())

    async def all_claimed() -> bool:
        return await pool.fetchval("SELECT count(*) FROM inbox") == 100

    await _consume(pool, metrics, kafka_bootstrap_servers, topic_prefix, all_claimed)
    assert await pool.fetchval("SELECT sum(times) FROM handled") == 100
    assert await pool.fetchval("SELECT count(*) FROM handled") == 5
    duplicates = metrics.events_consumed.labels(f"{topic_prefix}test.counter", SCAN_ACCEPTED, "duplicate")
    assert duplicates._value.get() == 100


async def test_offsets_are_committed_after_the_transaction(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, handled_table: None,
) -> None:
    factory = sample_factory(topic_prefix)
    first = [sample_scan_event(factory, "team-a", i) for i in range(30)]
    for topic, envelope in first:
        await _publish(producer, topic, envelope.to_bytes(), envelope.key.encode())

    async def claimed(n: int) -> Callable[[], Any]:
        async def check() -> bool:
            return await pool.fetchval("SELECT count(*) FROM inbox") == n
        return check

    await _consume(pool, metrics, kafka_bootstrap_servers, topic_prefix, await claimed(30))
    second = [sample_scan_event(factory, "team-a", i) for i in range(30, 40)]
    for topic, envelope in second:
        await _publish(producer, topic, envelope.to_bytes(), envelope.key.encode())
    # a restarted member resumes after the committed offsets: only the 10 new events are read
    before = metrics.events_consumed.labels(f"{topic_prefix}test.counter", SCAN_ACCEPTED, "duplicate")._value.get()
    await _consume(pool, metrics, kafka_bootstrap_servers, topic_prefix, await claimed(40))
    after = metrics.events_consumed.labels(f"{topic_prefix}test.counter", SCAN_ACCEPTED, "duplicate")._value.get()
    assert after == before, "nothing already committed was read again"
    assert await pool.fetchval("SELECT times FROM handled WHERE team_id = 'team-a'") == 40


async def test_poison_events_are_dead_lettered_and_the_next_event_is_processed(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, handled_table: None,
) -> None:
    factory = sample_factory(topic_prefix)
    topic = f"{topic_prefix}patrol.scans"
    key = b"team-x"  # one key, so one partition: the good event queues behind the poison
    good_before = sample_scan_event(factory, "team-x", 1)[1]
    rejected = sample_scan_event(factory, "team-x", 2, member="poison")[1]
    bad_payload = json.loads(sample_scan_event(factory, "team-x", 3)[1].to_bytes())
    bad_payload["payload"]["device_time"] = "not a time"
    too_new = json.loads(sample_scan_event(factory, "team-x", 4)[1].to_bytes())
    too_new["schema_version"] = 99
    good_after = sample_scan_event(factory, "team-x", 5)[1]
    for value in [
        good_before.to_bytes(), b"\xff\xfe not json at all", b'{"event_id": "nope"}', rejected.to_bytes(),
        json.dumps(bad_payload).encode(), json.dumps(too_new).encode(), "平安 but not an envelope".encode(),
        good_after.to_bytes(),
    ]:
        await _publish(producer, topic, value, key)

    async def good_after_handled() -> bool:
        return await pool.fetchval("SELECT times FROM handled WHERE team_id = 'team-x'") == 2

    await _consume(pool, metrics, kafka_bootstrap_servers, topic_prefix, good_after_handled)

    deadletter_topic = f"{topic_prefix}deadletter.test"

    async def dead_letters_written() -> bool:
        return await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", deadletter_topic) == 6

    await eventually(dead_letters_written, what="six dead letters in the outbox")
    rows = await pool.fetch("SELECT value FROM outbox WHERE topic = $1 ORDER BY id", f"{topic_prefix}deadletter.test")
    letters = [json.loads(r["value"])["payload"] for r in rows]
    reasons = [letter["reason"] for letter in letters]
    assert reasons[0].startswith("unparseable envelope") and letters[0]["raw_value"].startswith("base64:")
    assert reasons[1].startswith("unparseable envelope")
    assert "HandlerRejected" in reasons[2] and letters[2]["source_event_id"] == str(rejected.event_id)
    assert "ValidationError" in reasons[3] and "device_time" in reasons[3]
    assert "newer than this service knows" in reasons[4]
    assert letters[5]["raw_value"] == "平安 but not an envelope"
    assert all(letter["source_topic"] == topic for letter in letters)
    offsets = [letter["source_offset"] for letter in letters]
    assert offsets == sorted(offsets)
    # the dead letters really reach Kafka through the relay
    from pingan_shared.messaging.outbox import OutboxRelay

    relay_producer = build_producer(kafka_bootstrap_servers, client_id="relay")
    await relay_producer.start()
    try:
        await OutboxRelay(pool, relay_producer, metrics).publish_batch()
    finally:
        await relay_producer.stop()
    published = await read_topic(kafka_bootstrap_servers, f"{topic_prefix}deadletter.test", expected=6)
    assert {json.loads(r.value)["type"] for r in published} == {"platform.dead-lettered"}  # type: ignore[attr-defined]


async def test_replaying_a_topic_from_the_start_changes_nothing(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, handled_table: None,
) -> None:

    factory = sample_factory(topic_prefix)
    for topic, envelope in (sample_scan_event(factory, f"team-{i % 3}", i) for i in range(60)):
        await _publish(producer, topic, envelope.to_bytes(), envelope.key.encode())

    async def all_claimed() -> bool:
        return await pool.fetchval("SELECT count(*) FROM inbox") == 60

    await _consume(pool, metrics, kafka_bootstrap_servers, topic_prefix, all_claimed)
    # an operator rewinds the group to offset 0 on every partition (a replay)
    group = f"{topic_prefix}test.counter"
    await rewind_group(kafka_bootstrap_servers, f"{topic_prefix}patrol.scans", group)
    duplicates = metrics.events_consumed.labels(group, SCAN_ACCEPTED, "duplicate")

    async def replayed() -> bool:
        return duplicates._value.get() == 60

    await _consume(pool, metrics, kafka_bootstrap_servers, topic_prefix, replayed)
    assert await pool.fetchval("SELECT sum(times) FROM handled") == 60


async def test_a_started_consumer_is_already_a_member_of_its_group(
    pool: asyncpg.Pool, metrics: Metrics, kafka_bootstrap_servers: str, topic_prefix: str,
) -> None:
    # ServiceRuntime.start() relies on it ("consumers are members of their group from the first request"):
    # aiokafka's start() waits for the group's assignment when the topics are given at construction, so
    # membership does not wait for the first getmany.
    consumer = inbox_consumer(pool, metrics, kafka_bootstrap_servers, topic_prefix,
                              ConsumerSpec("test.member", {SCAN_ACCEPTED: _counting_handler}), batch_size=50)
    await consumer.start()
    try:
        assert {(p.topic, p.partition) for p in consumer.assignment()} == {
            (f"{topic_prefix}patrol.scans", n) for n in range(3)}
    finally:
        await consumer.stop()
