"""Faults of the inbox consumer against a real broker and database: a rebalance in the middle of a batch,
records with any key and value bytes, poison at a position reused after a topic was recreated, dead
letters too large to publish. Whatever happens, every record ends handled (or ignored, for another
event type) or dead-lettered, and the consumer keeps running."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import BaseModel

from pingan_shared.events.catalog import DEAD_LETTERED, SCAN_ACCEPTED
from pingan_shared.events.contracts import ScanAcceptedV2
from pingan_shared.events.envelope import Envelope, new_envelope
from pingan_shared.messaging.consumer import ConsumerSpec, Handler, InboxConsumer
from pingan_shared.messaging.dead_letters import (
    MAX_DEAD_LETTER_BYTES,
    bytes_as_text,
    dead_letter_key,
    dead_letter_payload,
    storable_text,
)
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay
from pingan_shared.metrics import Metrics
from pingan_stack.testing import SAMPLE_TIME, eventually, read_topic, sample_factory, sample_scan_event

from .conftest import inbox_consumer, rewind_group, running

GROUP = "test.faults"
# What a producer with default settings can send at most; a dead letter must always fit under it.
PRODUCER_MAX_REQUEST_BYTES = 1_048_576


@pytest.fixture
async def handled_table(pool: asyncpg.Pool) -> None:
    await pool.execute(
        """CREATE TABLE handled (event_id uuid PRIMARY KEY, key text NOT NULL, team_id text NOT NULL,
                                 member text NOT NULL, times int NOT NULL)""")


def _recording_handler(member: str = "only", before: Callable[[], Awaitable[None]] | None = None) -> Handler:
    """Stores the envelope's key and team as text (as real handlers do), and counts deliveries."""

    async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        assert isinstance(payload, ScanAcceptedV2)
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
    return inbox_consumer(pool, metrics, bootstrap, prefix,
                          ConsumerSpec(GROUP, {SCAN_ACCEPTED: handler or _recording_handler()}), service=service,
                          batch_size=50)


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
    async with running(first) as first_task:
        async def first_blocked() -> bool:
            _alive(first_task)
            return entered.is_set()

        await eventually(first_blocked, what="the first member blocked in its handler")
        async with running(second) as second_task:
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


# --- item 2 (and the encoded size of dead letters): any key, any value ------------------------------------


class _Records:
    """Seeded random records for the patrol.scans topic, each with the outcome it must end in."""

    def __init__(self, seed: int, prefix: str) -> None:
        self.rng = random.Random(seed)
        self.factory = sample_factory(prefix)
        self.seq = 0

    def key(self) -> bytes | None:
        rng = self.rng
        return rng.choice([
            lambda: None,
            lambda: b"",
            lambda: b"team-1",
            lambda: "平安".encode(),
            lambda: b"k" * rng.randint(501, 20_000),                  # longer than an envelope key may be
            lambda: ("安" * 500).encode(),                             # 500 characters, 1500 bytes
            lambda: b"team\x00one",                                    # NUL: not storable as text
            lambda: b"\xff\xfe\xfd",                                   # not UTF-8
            lambda: b"\xed\xa0\x80",                                   # a lone surrogate, UTF-8 encoded
            lambda: bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))),
        ])()

    def envelope(self, **changes: Any) -> tuple[bytes, Envelope]:
        self.seq += 1
        envelope = sample_scan_event(self.factory, f"team-{self.seq % 4}", self.seq)[1]
        if not changes:
            return envelope.to_bytes(), envelope
        body = json.loads(envelope.to_bytes())
        body.update(changes)
        return json.dumps(body).encode(), envelope

    def value(self) -> tuple[bytes | None, str | uuid.UUID]:
        """A value and its outcome: the event id it is handled as, ignored (another event type) or dead-lettered."""
        rng = self.rng
        kind = rng.choice([
            "good", "good", "good", "tombstone", "empty", "random", "huge-random", "control", "nul-json",
            "surrogate-json", "text", "bad-key-envelope", "long-key-envelope", "bad-payload", "too-new",
            "other-type", "huge-field-name",
        ])
        if kind == "good":
            value, envelope = self.envelope()
            return value, envelope.event_id
        if kind == "tombstone":
            return None, "dead-lettered"
        if kind == "empty":
            return b"", "dead-lettered"
        if kind == "random":
            return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))), "dead-lettered"
        if kind == "huge-random":
            return rng.randbytes(rng.randint(100_000, 700_000)), "dead-lettered"
        if kind == "control":
            return bytes(rng.randint(1, 31) for _ in range(256 * 1024)), "dead-lettered"
        if kind == "nul-json":
            return b'{"event_id": "\x00"}\x00', "dead-lettered"
        if kind == "surrogate-json":
            return b'{"event_id": "\\ud800", "key": "\\udfff"}', "dead-lettered"
        if kind == "text":
            return "平安 but not an envelope \x00 \x7f".encode(), "dead-lettered"
        if kind == "bad-key-envelope":  # a valid envelope whose key the handler cannot store as text
            return self.envelope(key="team\x00x")[0], "dead-lettered"
        if kind == "long-key-envelope":
            return self.envelope(key="k" * 501)[0], "dead-lettered"
        if kind == "bad-payload":
            good = json.loads(self.envelope()[0])
            good["payload"]["device_time"] = "\x00 not a time " * 1000
            return json.dumps(good).encode(), "dead-lettered"
        if kind == "too-new":
            return self.envelope(schema_version=99)[0], "dead-lettered"
        if kind == "other-type":
            return self.envelope(type="patrol.something-else")[0], "ignored"
        assert kind == "huge-field-name"
        return self.envelope(**{"\x01" * 100_000: 1})[0], "dead-lettered"  # 600 kB once escaped


@pytest.mark.parametrize("seed", [1, 2])
async def test_any_record_ends_handled_or_dead_lettered_and_the_consumer_keeps_running(
    seed: int, pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, handled_table: None,
) -> None:
    topic = f"{topic_prefix}patrol.scans"
    await ensure_topics(kafka_bootstrap_servers, [topic, f"{topic_prefix}deadletter.test"], partitions=3,
                        replication_factor=1)
    records = _Records(seed, topic_prefix)
    expected: dict[tuple[int, int], str | uuid.UUID] = {}
    for _ in range(90):
        value, outcome = records.value()
        key = records.key()
        if key is None and value is None:
            key = b""  # aiokafka refuses a record with neither
        metadata = await (await producer.send(topic, value=value, key=key, partition=records.rng.randrange(3)))
        expected[(metadata.partition, metadata.offset)] = outcome
    # a good event last on every partition: once all three are handled, everything before them was processed
    sentinels = []
    for partition in range(3):
        value, envelope = records.envelope()
        metadata = await (await producer.send(topic, value=value, key=b"sentinel", partition=partition))
        expected[(metadata.partition, metadata.offset)] = envelope.event_id
        sentinels.append(envelope.event_id)

    async with running(_consumer(pool, metrics, kafka_bootstrap_servers, topic_prefix)) as task:
        async def sentinels_handled() -> bool:
            _alive(task)
            return await pool.fetchval("SELECT count(*) FROM handled WHERE event_id = ANY($1::uuid[])",
                                       sentinels) == 3

        await eventually(sentinels_handled, timeout=180, what="every partition processed to its end")
        _alive(task)

    letters = await _dead_letters(pool, topic_prefix)
    dead = {}
    for letter in letters:
        payload = letter["envelope"].payload
        assert payload["source_topic"] == topic
        dead[(payload["source_partition"], payload["source_offset"])] = payload
        # a dead letter is itself a valid envelope whose key PostgreSQL stored as text, and small enough to publish
        assert 1 <= len(letter["key"]) <= 500 and "\x00" not in letter["key"]
        assert letter["bytes"] < PRODUCER_MAX_REQUEST_BYTES // 2
    assert len(dead) == len(letters), "each record dead-lettered at most once"
    assert set(dead) == {position for position, outcome in expected.items() if outcome == "dead-lettered"}
    handled = {row["event_id"]: row["times"] for row in await pool.fetch("SELECT event_id, times FROM handled")}
    assert handled == {outcome: 1 for outcome in expected.values() if isinstance(outcome, uuid.UUID)}
    # and every dead letter really reaches the dead-letter topic
    assert await _publish_outbox(pool, kafka_bootstrap_servers, metrics) == len(letters)
    published = await read_topic(kafka_bootstrap_servers, f"{topic_prefix}deadletter.test", expected=len(letters))
    assert len(published) == len(letters)


async def test_a_dead_letter_of_control_bytes_stays_publishable(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, handled_table: None,
) -> None:
    """256 KiB of control bytes is valid UTF-8 yet six times larger once escaped in JSON."""
    topic = f"{topic_prefix}patrol.scans"
    await ensure_topics(kafka_bootstrap_servers, [topic, f"{topic_prefix}deadletter.test"], partitions=1,
                        replication_factor=1)
    await (await producer.send(topic, value=b"\x01" * (256 * 1024), key=b"team-c"))
    good = sample_scan_event(sample_factory(topic_prefix), "team-c", 1)[1]
    await (await producer.send(topic, value=good.to_bytes(), key=b"team-c"))

    async with running(_consumer(pool, metrics, kafka_bootstrap_servers, topic_prefix)) as task:
        async def good_handled() -> bool:
            _alive(task)
            return await pool.fetchval("SELECT count(*) FROM handled") == 1

        await eventually(good_handled, what="the event after the poison handled")

    [letter] = await _dead_letters(pool, topic_prefix)
    assert letter["bytes"] < PRODUCER_MAX_REQUEST_BYTES // 2
    raw_value = letter["envelope"].payload["raw_value"]
    assert "truncated" in raw_value or raw_value.startswith("base64:")
    assert await _publish_outbox(pool, kafka_bootstrap_servers, metrics) == 1
    await read_topic(kafka_bootstrap_servers, f"{topic_prefix}deadletter.test", expected=1)


# --- item 15: poison at a position a recreated topic reuses -------------------------------------------------


async def test_new_poison_at_a_reused_offset_is_dead_lettered_after_the_topic_was_recreated(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, handled_table: None,
) -> None:
    topic = f"{topic_prefix}patrol.scans"
    factory = sample_factory(topic_prefix)

    async def poison_then_good(poison: bytes, seq: int) -> None:
        await ensure_topics(kafka_bootstrap_servers, [topic, f"{topic_prefix}deadletter.test"], partitions=1,
                            replication_factor=1)
        good = sample_scan_event(factory, "team-p", seq)[1]
        for value in (poison, good.to_bytes()):
            await (await producer.send(topic, value=value, key=b"team-p"))
        async with running(_consumer(pool, metrics, kafka_bootstrap_servers, topic_prefix)) as task:
            async def good_handled() -> bool:
                _alive(task)
                return await pool.fetchval("SELECT count(*) FROM handled WHERE event_id = $1", good.event_id) == 1

            await eventually(good_handled, what="the good event after the poison handled")

    await poison_then_good(b"first poison", 1)
    # What a restart of the embedded broker does (memory storage): the topic and the group's offsets are gone,
    # the database keeps its inbox. New records start again at offset 0.
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers, client_id="test-admin")
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()
    await _forget_group_offsets(kafka_bootstrap_servers, topic, f"{topic_prefix}{GROUP}")
    await poison_then_good(b"second poison, other bytes", 2)

    raw_values = [letter["envelope"].payload["raw_value"] for letter in await _dead_letters(pool, topic_prefix)]
    assert raw_values == ["first poison", "second poison, other bytes"]


async def _forget_group_offsets(bootstrap: str, topic: str, group: str) -> None:
    """Rewind the group to offset 0 on the recreated topic, as a broker that forgot it would have it."""
    await ensure_topics(bootstrap, [topic], partitions=1, replication_factor=1)
    await rewind_group(bootstrap, topic, group)



# --- what a dead letter carries, without I/O ------------------------------------------------------------


def _record(key: bytes | None, value: bytes | None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic="p.scans", partition=2, offset=7, timestamp=0, timestamp_type=0, key=key,
                          value=value, checksum=None, serialized_key_size=0, serialized_value_size=0, headers=())


def _encoded_size(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")) - 2


@pytest.mark.parametrize("seed", range(5))
def test_bytes_as_text_stays_within_its_encoded_budget_and_keeps_what_it_can(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        raw = rng.choice([
            lambda: rng.randbytes(rng.randint(0, 5_000)),
            lambda: bytes(rng.randint(0, 31) for _ in range(rng.randint(0, 5_000))),
            lambda: "平安\n\"\\".encode() * rng.randint(0, 2_000),
            lambda: b"\x00" * rng.randint(1, 100),
        ])()
        budget = rng.randint(64, 8_000)
        text = bytes_as_text(raw, budget)
        assert _encoded_size(text) <= budget and storable_text(text) == text
        original = f"…[truncated from {len(raw)} bytes]"
        body = text.removesuffix(original)
        is_base64 = body.startswith("base64:")
        kept = base64.b64decode(body.removeprefix("base64:")) if is_base64 else body.encode()
        assert raw.startswith(kept)
        assert (kept == raw) == (body == text), "cut exactly when the marker says so"


def test_a_dead_letter_of_the_largest_record_fits_whatever_its_bytes() -> None:
    worst = [b"\x01" * 1_048_576, bytes(range(256)) * 4096, "安".encode() * 350_000, b"\x00" * 1_048_576]
    for value in worst:
        payload = dead_letter_payload(_record(value[:100_000], value), None, "\x00\ud800" + "\x01" * 100_000, "g")
        envelope = new_envelope(type=DEAD_LETTERED, schema_version=1, payload=payload,
                                key=dead_letter_key(_record(value[:100_000], value)), producer="test",
                                occurred_at=SAMPLE_TIME)
        assert len(envelope.to_bytes()) <= MAX_DEAD_LETTER_BYTES
        assert Envelope.from_bytes(envelope.to_bytes()) == envelope


@pytest.mark.parametrize(("key", "expected"), [
    (b"team-1", "team-1"),
    ("安".encode() * 500, "安" * 500),
    (b"k" * 501, "p.scans/2"),
    (b"team\x00x", "p.scans/2"),
    (b"\xed\xa0\x80", "p.scans/2"),
    (b"", "p.scans/2"),
    (None, "p.scans/2"),
])
def test_a_dead_letter_is_keyed_by_the_record_key_only_when_an_envelope_can_carry_it(
    key: bytes | None, expected: str,
) -> None:
    assert dead_letter_key(_record(key, b"x")) == expected
