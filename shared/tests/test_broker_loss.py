"""The embedded broker restarts with an empty memory (every topic and every group's offsets gone): events it had
acknowledged — their outbox rows marked sent — still reach their consumer, once in its effect, from the kept rows
the relay publishes again (messaging/broker_loss.py); a consumer that handled a batch across the restart commits
nothing into the new log (messaging/group_commit.py); and a relay that dies while republishing leaves nothing out.

Each test has a broker of its own (``own_broker``), restarted here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from pydantic import BaseModel

from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import ConsumerSpec
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay, enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.embedded import EmbeddedKafka
from pingan_stack.testing import eventually, read_topic, sample_factory, sample_scan_event

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


@contextlib.asynccontextmanager
async def relay_running(relay: OutboxRelay) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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
    consumer = inbox_consumer(pool, metrics, bootstrap, topic_prefix,
                              ConsumerSpec(GROUP, {SCAN_ACCEPTED: counting_handler(gate, entered)}), batch_size=10)
    async with started_producer(bootstrap) as producer:
        relay = OutboxRelay(pool, producer, metrics, batch_size=50, idle_poll_seconds=0.2, loss_check_seconds=0.5,
                            ensure_topics=create_topics)
        async with relay_running(relay), running(consumer):
            # read and handled before the restart
            first = await enqueue_scans(pool, topic_prefix, "一队", range(20))
            await eventually(lambda: _handled(pool, first), what="the first events handled")
            # the consumer takes the next batch and waits inside its handler; the events after it are acknowledged
            # by the broker and read by nobody
            gate.clear()
            held = await enqueue_scans(pool, topic_prefix, "二队", range(20, 30))
            await asyncio.wait_for(entered.wait(), 30)
            unread = await enqueue_scans(pool, topic_prefix, "三队", range(30, 60))
            await eventually(sent(pool), what="every event acknowledged")
            assert await pool.fetchval("SELECT count(*) FROM outbox_acknowledged") > 0

            own_broker.stop()
            own_broker.start()  # same address, empty memory
            during = await enqueue_scans(pool, topic_prefix, "四队", range(60, 70))
            # the held batch is handled now, after the restart: its offsets, of the old log, must not reach the new
            # broker, where the group would then start past the events published again
            gate.set()
            everyone = [*first, *held, *unread, *during]
            await eventually(lambda: _handled(pool, everyone), timeout=60, what="every event handled")
            # the relay found the loss and put the kept rows back: every event is on the new broker once more
            losses = await pool.fetch("SELECT how, partitions, republished FROM broker_losses")
            assert losses and sum(row["republished"] for row in losses) >= 60, losses
            await read_topic(bootstrap, topics[0], expected=70)
            await asyncio.sleep(1)  # the republished events already handled: read again, dropped by the inbox
            assert await times_handled(pool) == {str(e.event_id): 1 for e in everyone}, "each effect once"
    exposition = _exposition(metrics)
    assert "pingan_broker_losses_total{how=" in exposition and "pingan_events_republished_total{topic=" in exposition


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
