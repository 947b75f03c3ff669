"""A member that joined the group on the restarted embedded broker before its topics were created again reads them
once they are (messaging/empty_assignment.py; docs/broker-loss.md). Each test has a broker of its own, restarted."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel

from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import ConsumerSpec
from pingan_shared.messaging.empty_assignment import EmptyAssignmentWatch
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.metrics import Metrics
from pingan_stack.embedded import EmbeddedKafka
from pingan_stack.testing import eventually, sample_factory, sample_scan_event

from .conftest import inbox_consumer, running


@pytest.mark.slow  # a broker restart (docs/shape.md, the test lanes)
async def test_a_member_that_rejoined_before_its_topics_existed_reads_them_once_created(
    own_broker: EmbeddedKafka, pool: asyncpg.Pool, metrics: Metrics, topic_prefix: str,
) -> None:
    bootstrap = own_broker.bootstrap_servers
    topics = [f"{topic_prefix}patrol.scans", f"{topic_prefix}deadletter.test"]
    await ensure_topics(bootstrap, topics, partitions=2, replication_factor=1)
    await pool.execute("CREATE TABLE handled (event_id uuid PRIMARY KEY)")

    async def handle(conn: asyncpg.Connection, envelope: Envelope, _: BaseModel) -> None:
        await conn.execute("INSERT INTO handled (event_id) VALUES ($1)", envelope.event_id)

    spec = ConsumerSpec("test.late", {SCAN_ACCEPTED: handle})
    consumer = inbox_consumer(pool, metrics, bootstrap, topic_prefix, spec)
    async with running(consumer):
        await eventually(lambda: _true(bool(consumer.assignment())), what="partitions assigned")
        own_broker.stop()
        own_broker.start()  # same address, empty memory: no topic, no group
        # the member joins the new broker's group while its topics do not exist: it is given nothing
        await eventually(lambda: _true(not consumer.assignment()), what="the member rejoined with no partition")
        await ensure_topics(bootstrap, topics, partitions=2, replication_factor=1)
        topic, event = sample_scan_event(sample_factory(topic_prefix), "一队", 1)
        producer = build_producer(bootstrap, client_id="test")
        await producer.start()
        try:
            await (await producer.send(topic, value=event.to_bytes(), key=event.key.encode()))
        finally:
            await producer.stop()

        async def handled() -> bool:
            return bool(await pool.fetchval("SELECT count(*) = 1 FROM handled"))

        await eventually(handled, timeout=90, what="the event on the topics created after the rejoin handled")


async def test_the_watch_uses_only_aiokafka_public_calls() -> None:
    """What the watch calls on the consumer exists on aiokafka's (a release that renames it fails here, fast)."""
    for name in ("assignment", "topics", "unsubscribe", "subscribe"):
        assert callable(getattr(AIOKafkaConsumer, name))
    assert EmptyAssignmentWatch(["t"]) is not None


async def _true(value: bool) -> bool:
    return value

