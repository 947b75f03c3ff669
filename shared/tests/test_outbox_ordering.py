"""Per-key sequence numbers: assigned in the writing transaction, carried in the envelope bytes, and enough
for a state-machine handler to end in the newer state when a key's events arrive out of order."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel, ConfigDict

from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import Catalog, EventType
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.messaging.consumer import ConsumerSpec
from pingan_shared.messaging.kafka import ensure_topics
from pingan_shared.messaging.ordering import highest_applied, should_apply
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.testing import SAMPLE_TIME, eventually, sample_factory, sample_scan_event

from .conftest import inbox_consumer, running

# --- the rule on its own ---------------------------------------------------------------------------


def _at(sequence: int | None) -> Envelope:
    return Envelope(event_id=uuid.uuid4(), type="demo.alert-triggered", schema_version=1, occurred_at=SAMPLE_TIME,
                    producer="test", key="alert-1", correlation_id=uuid.uuid4(), payload={}, sequence=sequence)


@pytest.mark.parametrize(
    ("last_applied", "sequence", "apply"),
    [
        (None, 1, True),  # nothing applied yet
        (3, 4, True),  # the next one
        (3, 7, True),  # newer, with a gap (another topic's events share the key's counter)
        (3, 3, False),  # the one already applied
        (5, 4, False),  # a trigger overtaken by its resolve: stale
        (5, None, True),  # unsequenced (an old event, or made outside an outbox): cannot tell, apply
        (None, None, True),
    ],
)
def test_a_transition_older_than_the_applied_one_is_ignored(
    last_applied: int | None, sequence: int | None, apply: bool
) -> None:
    assert should_apply(last_applied, _at(sequence)) is apply


def test_the_sequence_survives_the_bytes() -> None:
    assert Envelope.from_bytes(_at(42).to_bytes()).sequence == 42
    legacy = _at(None).model_dump(mode="json")
    del legacy["sequence"]  # an event written before sequences existed
    assert Envelope.model_validate(legacy).sequence is None


# --- assignment in the writing transaction -----------------------------------------------------------


async def _stored_sequences(pool: asyncpg.Pool) -> list[tuple[str, int | None]]:
    rows = await pool.fetch("SELECT value FROM outbox ORDER BY id")
    return [(e.key, e.sequence) for e in (Envelope.from_bytes(r["value"]) for r in rows)]


async def test_each_key_counts_on_in_the_bytes_written(pool: asyncpg.Pool) -> None:
    factory = sample_factory("seq.")
    async with pool.acquire() as conn, conn.transaction():
        returned = await enqueue(conn, [sample_scan_event(factory, team, n) for n in range(3) for team in "AB"])
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, "B", 9), sample_scan_event(factory, "C", 9)])

    assert await _stored_sequences(pool) == [
        ("A", 1), ("B", 1), ("A", 2), ("B", 2), ("A", 3), ("B", 3), ("B", 4), ("C", 1)]
    assert [e.sequence for e in returned] == [1, 1, 2, 2, 3, 3], "enqueue hands back the envelopes as stored"
    assert await pool.fetchval("SELECT array_agg(sequence ORDER BY id) FROM outbox") == [1, 1, 2, 2, 3, 3, 4, 1]


async def test_two_transactions_on_one_key_get_consecutive_sequences_and_commit_in_that_order(
    pool: asyncpg.Pool,
) -> None:
    factory = sample_factory("seq.")
    first = await pool.acquire()
    second = await pool.acquire()
    try:
        first_tx = first.transaction()
        await first_tx.start()
        await enqueue(first, [sample_scan_event(factory, "一队", 1)])

        async def second_writer() -> None:
            async with second.transaction():
                await enqueue(second, [sample_scan_event(factory, "一队", 2), sample_scan_event(factory, "一队", 3)])

        writing = asyncio.create_task(second_writer())
        second_pid = second.get_server_pid()

        async def second_waits_on_a_lock() -> bool:
            return bool(await pool.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", second_pid))

        await eventually(second_waits_on_a_lock, timeout=20, what="the second writer to wait for the first")
        assert not writing.done()
        await first_tx.commit()
        await writing
    finally:
        await pool.release(first)
        await pool.release(second)

    stored = await pool.fetch("SELECT id, sequence, xmin::text::bigint AS tx FROM outbox ORDER BY id")
    assert [r["sequence"] for r in stored] == [1, 2, 3]
    assert stored[0]["tx"] != stored[1]["tx"] == stored[2]["tx"]
    assert await _stored_sequences(pool) == [("一队", 1), ("一队", 2), ("一队", 3)]


async def test_enqueues_spread_over_a_transaction_can_deadlock_one_sorted_enqueue_cannot(pool: asyncpg.Pool) -> None:
    # What outbox.py documents: one enqueue locks its keys in key order, so two of them on overlapping keys
    # only wait for each other; a transaction that enqueues several times (a consumer batch, once per
    # handled event; a timer batch, once per timer) takes its keys in call order, and two such
    # transactions taking them in opposite orders deadlock: PostgreSQL ends one after deadlock_timeout.
    factory = sample_factory("seq.")
    first = await pool.acquire()
    second = await pool.acquire()

    async def lock_waiter(conn: asyncpg.Connection) -> None:
        pid = conn.get_server_pid()

        async def waits() -> bool:
            return bool(await pool.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid))

        await eventually(waits, timeout=20, what="a writer to wait for the other's key")

    try:
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        await second_tx.start()
        await enqueue(first, [sample_scan_event(factory, "A", 1)])   # first event of the first batch
        await enqueue(second, [sample_scan_event(factory, "B", 1)])  # first event of the second batch
        first_next = asyncio.create_task(enqueue(first, [sample_scan_event(factory, "B", 2)]))
        await lock_waiter(first)
        second_next = asyncio.create_task(enqueue(second, [sample_scan_event(factory, "A", 2)]))
        outcomes = await asyncio.gather(first_next, second_next, return_exceptions=True)
        deadlocked = [o for o in outcomes if isinstance(o, asyncpg.exceptions.DeadlockDetectedError)]
        assert len(deadlocked) == 1, outcomes  # one of the two is ended (and retried by its caller) ...
        for tx, outcome in zip((first_tx, second_tx), outcomes, strict=True):
            await (tx.rollback() if isinstance(outcome, BaseException) else tx.commit())  # ... the other commits
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 2

        # The same two batches, each with one enqueue at its end: the keys are taken in key order whatever
        # the order given, so the second waits for the first and both commit.
        await pool.execute("DELETE FROM outbox")
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        await second_tx.start()
        await enqueue(first, [sample_scan_event(factory, "A", 3), sample_scan_event(factory, "B", 3)])
        second_all = asyncio.create_task(
            enqueue(second, [sample_scan_event(factory, "B", 4), sample_scan_event(factory, "A", 4)]))
        await lock_waiter(second)
        await first_tx.commit()
        await second_all
        await second_tx.commit()
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 4
    finally:
        await pool.release(first)
        await pool.release(second)


# --- a reordered pair through the real broker into a real consumer ----------------------------------


class AlertTriggeredV1(BaseModel):
    model_config = ConfigDict(frozen=True)
    alert_id: str


class AlertResolvedV1(BaseModel):
    model_config = ConfigDict(frozen=True)
    alert_id: str


def _alert_catalog() -> Catalog:
    catalog = Catalog()
    catalog.register(EventType("demo.alert-triggered", 1, "demo.alerts", AlertTriggeredV1))
    catalog.register(EventType("demo.alert-resolved", 1, "demo.alerts", AlertResolvedV1))
    return catalog


async def _apply_alert_transition(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
    """A state machine as alerts would write it: the highest sequence applied is kept with the state."""
    assert isinstance(payload, AlertTriggeredV1 | AlertResolvedV1)
    last = await conn.fetchval("SELECT last_sequence FROM alert_state WHERE alert_id = $1 FOR UPDATE",
                               payload.alert_id)
    if not should_apply(last, envelope):
        return
    state = "open" if isinstance(payload, AlertTriggeredV1) else "resolved"
    await conn.execute(
        """INSERT INTO alert_state (alert_id, state, last_sequence) VALUES ($1, $2, $3)
           ON CONFLICT (alert_id) DO UPDATE SET state = $2, last_sequence = $3""",
        payload.alert_id, state, highest_applied(last, envelope))


async def test_a_resolve_that_overtook_its_trigger_still_wins(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    catalog = _alert_catalog()
    topic = f"{topic_prefix}demo.alerts"
    await ensure_topics(kafka_bootstrap_servers, [topic, f"{topic_prefix}deadletter.test"], partitions=3,
                        replication_factor=1)
    await pool.execute("CREATE TABLE alert_state (alert_id text PRIMARY KEY, state text, last_sequence bigint)")
    factory = EventFactory("alerts", FixedClock(SAMPLE_TIME), topic_prefix, catalog)
    # the producing side: trigger, then resolve, each in its own transaction, through the outbox
    for event in (factory.make("demo.alert-triggered", AlertTriggeredV1(alert_id="A-1"), key="A-1"),
                  factory.make("demo.alert-resolved", AlertResolvedV1(alert_id="A-1"), key="A-1")):
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, [event])
    trigger, resolve = [r["value"] for r in await pool.fetch("SELECT value FROM outbox ORDER BY id")]
    # ... and the broker delivers them the other way round (the trigger's batch expired and was re-sent later)
    for value in (resolve, trigger):
        await (await producer.send(topic, value=value, key=b"A-1"))

    consumer = inbox_consumer(pool, metrics, kafka_bootstrap_servers, topic_prefix,
                              ConsumerSpec("test.alerts", {"demo.alert-triggered": _apply_alert_transition,
                                                           "demo.alert-resolved": _apply_alert_transition}),
                              catalog=catalog)
    async with running(consumer):
        async def both_handled() -> bool:
            return await pool.fetchval("SELECT count(*) FROM inbox WHERE outcome = 'handled'") == 2

        await eventually(both_handled, timeout=30, what="both events to be handled")

    assert await pool.fetchrow("SELECT state, last_sequence FROM alert_state WHERE alert_id = 'A-1'") == (
        "resolved", 2)
