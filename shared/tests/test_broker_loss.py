"""The embedded broker restarts with an empty memory (every topic and every group's offsets gone): events it had
acknowledged — their outbox rows marked sent — still reach their consumer, once in its effect, from the kept rows
the relay publishes again (messaging/broker_loss.py); a consumer that handled a batch across the restart commits
nothing into the new log (messaging/group_commit.py); and a relay that dies while republishing leaves nothing out.

Each test has a broker of its own (``own_broker``), restarted here."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from pydantic import BaseModel

from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import ConsumerSpec, InboxConsumer
from pingan_shared.messaging.group_commit import membership
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay, enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.embedded import EmbeddedKafka
from pingan_stack.testing import eventually, in_background, read_topic, sample_factory, sample_scan_event

from .conftest import inbox_consumer, running

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

GROUP = "test.loss"
PARTITIONS = 2


@pytest.fixture
async def handled_table(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE handled (event_id uuid PRIMARY KEY, times int NOT NULL)")


@contextlib.asynccontextmanager
async def started_producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = build_producer(bootstrap, client_id="relay")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def enqueue_scans(pool: asyncpg.Pool, prefix: str, team: str, seqs: range) -> list[Envelope]:
    factory = sample_factory(prefix)
    async with pool.acquire() as conn, conn.transaction():
        return await enqueue(conn, [sample_scan_event(factory, f"{team}-{seq % 3}", seq) for seq in seqs])


async def times_handled(pool: asyncpg.Pool) -> dict[str, int]:
    return {str(row["event_id"]): row["times"] for row in await pool.fetch("SELECT event_id, times FROM handled")}


def counting_handler(gate: asyncio.Event | None = None, entered: asyncio.Event | None = None
                     ) -> Callable[[asyncpg.Connection, Envelope, BaseModel], Awaitable[None]]:
    """Counts each event's effects; with a ``gate``, waits for it (after saying so on ``entered``) at the first
    event it sees while the gate is shut."""

    async def handle(conn: asyncpg.Connection, envelope: Envelope, _: BaseModel) -> None:
        if gate is not None and not gate.is_set():
            assert entered is not None
            entered.set()
            await gate.wait()
        await conn.execute("""INSERT INTO handled (event_id, times) VALUES ($1, 1)
                              ON CONFLICT (event_id) DO UPDATE SET times = handled.times + 1""", envelope.event_id)

    return handle


def sent(pool: asyncpg.Pool) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(await pool.fetchval("SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL"))
    return check


async def test_events_the_broker_acknowledged_and_lost_in_a_restart_still_reach_their_consumer_once(
    own_broker: EmbeddedKafka, pool: asyncpg.Pool, metrics: Metrics, topic_prefix: str, handled_table: None,
) -> None:
    bootstrap = own_broker.bootstrap_servers
    topics = [f"{topic_prefix}patrol.scans", f"{topic_prefix}deadletter.test"]

    async def create_topics() -> None:
        await ensure_topics(bootstrap, topics, partitions=PARTITIONS, replication_factor=1)

    await create_topics()
    gate, entered = asyncio.Event(), asyncio.Event()
    gate.set()
    # once the held batch is let go, the first event of the new log after it waits here: the consumer commits
    # nothing more, so what the group holds on the new broker is what the held batch committed
    then, after = asyncio.Event(), asyncio.Event()
    fresh: set[str] = set()
    handler = counting_handler(gate, entered)

    async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        if gate.is_set() and str(envelope.event_id) in fresh and not then.is_set():
            after.set()
            await then.wait()
        await handler(conn, envelope, payload)

    consumer = inbox_consumer(pool, metrics, bootstrap, topic_prefix, ConsumerSpec(GROUP, {SCAN_ACCEPTED: handle}),
                              batch_size=10)
    async with started_producer(bootstrap) as producer:
        relay = OutboxRelay(pool, producer, metrics, batch_size=50, idle_poll_seconds=0.2, loss_check_seconds=0.5,
                            ensure_topics=create_topics)
        async with in_background(relay.run()), running(consumer):
            # read and handled before the restart, and first sent longer ago than the window: not published again,
            # so the new log is much shorter than the old one (an old offset committed there would skip events)
            first = await enqueue_scans(pool, topic_prefix, "一队", range(400))  # over 130 on each partition
            await eventually(lambda: _handled(pool, first), what="the first events handled")
            await pool.execute("UPDATE outbox SET first_sent_at = now() - interval '30 hours'")
            # the consumer takes the next batch and waits inside its handler; the events after it are acknowledged
            # by the broker and read by nobody
            gate.clear()
            held = await enqueue_scans(pool, topic_prefix, "二队", range(400, 410))
            await asyncio.wait_for(entered.wait(), 30)
            unread = await enqueue_scans(pool, topic_prefix, "三队", range(410, 440))
            await eventually(sent(pool), what="every event acknowledged")
            assert await pool.fetchval("SELECT count(*) FROM outbox_acknowledged") > 0

            member = membership(consumer._consumer)
            own_broker.stop()
            own_broker.start()  # same address, empty memory
            # The topics back before this loop runs again (start() blocked it; so does this): a member that joins the
            # group again before they exist gets no partition until the consumer's
            # empty-assignment watch joins anew (test_consumer_late_topic.py; docs/broker-loss.md).
            _blocking(create_topics)
            during = await enqueue_scans(pool, topic_prefix, "四队", range(440, 450))
            fresh.update(str(e.event_id) for e in [*unread, *during])
            # the held batch is handled only once aiokafka's background task joined the group again: its offsets, of
            # the old log, must not reach the new broker under the new membership, which the broker would take
            await eventually(lambda: _rejoined(consumer, member), what="the member joined again")
            gate.set()
            await asyncio.wait_for(after.wait(), 30)
            # the new log holds the window's 50 events, twice at most (tansu's end offsets cannot say: the end of a
            # multi-record batch is its base offset + 1); the held batch's offsets in the old log are above 130
            committed = await _committed(bootstrap, topics[0], consumer.group_id)
            assert all(offset <= 100 for offset in committed.values()), \
                f"an offset of the old log committed into the new one: {committed}"
            then.set()
            everyone = [*first, *held, *unread, *during]
            await eventually(lambda: _handled(pool, everyone), timeout=60, what="every event handled")
            # the relay found the loss and put the kept rows of the window back: they are on the new broker again
            losses = await pool.fetch("SELECT how, partitions, republished FROM broker_losses")
            assert losses and sum(row["republished"] for row in losses) >= 40, losses
            await read_topic(bootstrap, topics[0], expected=50)
            await asyncio.sleep(1)  # the republished events already handled: read again, dropped by the inbox
            assert await times_handled(pool) == {str(e.event_id): 1 for e in everyone}, "each effect once"
    exposition = _exposition(metrics)
    assert "pingan_broker_losses_total{how=" in exposition and "pingan_events_republished_total{topic=" in exposition


def _blocking(make: Callable[[], Awaitable[None]]) -> None:
    """Run ``make()`` to its end on a loop of its own, holding up the test's loop (and its clients) meanwhile."""
    worker = threading.Thread(target=lambda: asyncio.run(make()))  # type: ignore[arg-type]
    worker.start()
    worker.join()


async def _rejoined(consumer: InboxConsumer, before: tuple[str, int]) -> bool:
    member, generation = membership(consumer._consumer)
    return member not in ("", before[0]) and generation >= 0 and bool(consumer.assignment())


async def _committed(bootstrap: str, topic: str, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets on ``topic``, as the broker has them now."""
    # a consumer of the group that never joins it (no subscription): it only asks the coordinator (OffsetFetch)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp: offset for tp in partitions if (offset := await reader.committed(tp)) is not None}
    finally:
        await reader.stop()


async def test_a_relay_that_dies_while_republishing_leaves_nothing_out(
    own_broker: EmbeddedKafka, pool: asyncpg.Pool, metrics: Metrics, topic_prefix: str,
) -> None:
    bootstrap = own_broker.bootstrap_servers
    topic = f"{topic_prefix}patrol.scans"

    async def create_topics() -> None:
        await ensure_topics(bootstrap, [topic], partitions=PARTITIONS, replication_factor=1)

    await create_topics()
    events = await enqueue_scans(pool, topic_prefix, "一队", range(300))
    async with started_producer(bootstrap) as producer:
        relay = OutboxRelay(pool, producer, metrics, batch_size=100)
        while await relay.publish_batch():
            pass
    own_broker.stop()
    own_broker.start()

    async with started_producer(bootstrap) as producer:
        # a relay that finds the loss, republishes a batch and dies in the middle of the next one
        dying = OutboxRelay(pool, DyingProducer(producer, sends=150), metrics,  # type: ignore[arg-type]
                            batch_size=100, ensure_topics=create_topics)
        with pytest.raises(KafkaConnectionError):
            while await dying.publish_batch():
                pass
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 200, \
            "the rows put back stay put back: the first batch sent, the rest waiting"
        # the next relay (another replica, or this one restarted) goes on where it stopped
        relay = OutboxRelay(pool, producer, metrics, batch_size=100)
        while await relay.publish_batch():
            pass
    records = await read_topic(bootstrap, topic, expected=300 + 50)
    ids = {record.headers[2][1].decode() for record in records}  # type: ignore[attr-defined]
    assert ids == {str(e.event_id) for e in events}, "every kept row on the new broker"
    assert len(records) == 350, "the 50 sent in the batch that died are the only repeats"
    assert await pool.fetchval("SELECT count(*) FROM broker_losses") == 1


class DyingProducer:
    """Publishes for real, then fails: the relay process dies in the middle of a batch."""

    def __init__(self, inner: AIOKafkaProducer, sends: int) -> None:
        self._inner = inner
        self._left = sends
        self.client = inner.client

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        if self._left == 0:
            raise KafkaConnectionError("simulated crash")
        self._left -= 1
        return await self._inner.send(*args, **kwargs)


async def _handled(pool: asyncpg.Pool, events: list[Envelope]) -> bool:
    handled = await times_handled(pool)
    return all(str(e.event_id) in handled for e in events)


def _exposition(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()
