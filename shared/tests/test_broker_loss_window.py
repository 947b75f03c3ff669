"""Broker-loss recovery on the session's broker, without restarting it: which kept rows a loss puts back, what the
relay finds about the broker, and the aiokafka internals the recovery reads (messaging/broker_loss.py,
messaging/group_commit.py). A loss is made by raising the marks above what the broker holds, which is what a broker
that restarted empty looks like to the relay."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.metadata import MetadataRequest
from pydantic import BaseModel

from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.broker_loss import LossWatch, end_offsets
from pingan_shared.messaging.consumer import ConsumerSpec
from pingan_shared.messaging.group_commit import CommitRefused, commit_known_member, membership
from pingan_shared.messaging.housekeeping import Housekeeper
from pingan_shared.messaging.kafka import ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay, enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.testing import sample_factory, sample_scan_event

from .conftest import inbox_consumer


async def _published(pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, prefix: str,
                     bootstrap: str, rows: int, partitions: int = 2) -> str:
    topic = f"{prefix}patrol.scans"
    await ensure_topics(bootstrap, [topic], partitions=partitions, replication_factor=1)
    factory = sample_factory(prefix)
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, f"队{n % 3}", n) for n in range(rows)])
    await _drain(OutboxRelay(pool, producer, metrics, batch_size=100))
    return topic


async def _drain(relay: OutboxRelay) -> None:
    while await relay.publish_batch():
        pass


async def _lose(pool: asyncpg.Pool) -> None:
    """The broker now looks as if it lost every batch the relay marked."""
    await pool.execute("UPDATE outbox_acknowledged SET low_offset = low_offset + 1000000, "
                       "high_offset = high_offset + 1000000")


async def test_repeated_losses_republish_only_rows_first_sent_within_the_window_and_purge_them_in_time(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    await _published(pool, metrics, producer, topic_prefix, kafka_bootstrap_servers, rows=6)
    # rows 1-3 first went out 30 h ago, and a loss an hour ago sent them again (sent_at renewed); 4-6 went out now
    await pool.execute("UPDATE outbox SET first_sent_at = now() - interval '30 hours', "
                       "sent_at = now() - interval '1 hour' WHERE id <= 3")
    first_sent = dict(await pool.fetch("SELECT id, first_sent_at FROM outbox ORDER BY id"))

    for _ in range(2):  # two losses in a row: each puts back the same rows, those first sent within the window
        await _lose(pool)
        relay = OutboxRelay(pool, producer, metrics, batch_size=100, republish_window=timedelta(hours=24))
        await _drain(relay)
        losses = await pool.fetch("SELECT republished FROM broker_losses ORDER BY id")
        assert losses[-1]["republished"] == 3, losses
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    assert dict(await pool.fetch("SELECT id, first_sent_at FROM outbox ORDER BY id")) == first_sent, \
        "a republish is not a first publish"
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE id <= 3 AND sent_at > now() - interval '2 hours'") \
        == 3, "rows 1-3 were sent again recently, yet not put back"

    # the purge counts from the first publish too: rows 1-3 go though sent an hour ago
    await Housekeeper(pool, outbox_retention=timedelta(hours=24), inbox_retention=timedelta(days=35)).purge()
    assert [row["id"] for row in await pool.fetch("SELECT id FROM outbox ORDER BY id")] == [4, 5, 6]


async def test_marks_of_topics_the_service_no_longer_writes_are_dropped_and_never_look_lost(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    topic = await _published(pool, metrics, producer, topic_prefix, kafka_bootstrap_servers, rows=3)
    # a topic renamed away (or the prefix changed): its mark stays and the broker has no such topic
    retired = f"{topic_prefix}patrol.retired"
    await pool.execute("INSERT INTO outbox_acknowledged (topic, partition, low_offset, high_offset) "
                       "VALUES ($1, 0, 5, 9)", retired)
    await pool.execute("UPDATE outbox SET topic = $1 WHERE id = 1", retired)  # a kept row of it, within the window

    relay = OutboxRelay(pool, producer, metrics, topics=[topic])  # checks before its first batch
    assert await relay.publish_batch() == 0
    assert await pool.fetchval("SELECT count(*) FROM broker_losses") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0, "nothing put back"
    assert {row["topic"] for row in await pool.fetch("SELECT topic FROM outbox_acknowledged")} == {topic}


async def test_end_offsets_ask_the_marked_topics_and_say_a_missing_one_is_empty(
    producer: AIOKafkaProducer, kafka_bootstrap_servers: str, topic_prefix: str,
) -> None:
    topic, missing = f"{topic_prefix}patrol.scans", f"{topic_prefix}patrol.missing"
    await ensure_topics(kafka_bootstrap_servers, [topic], partitions=2, replication_factor=1)
    await producer.send_and_wait(topic, b"x", partition=1)
    ends = await end_offsets(producer, [(topic, 0), (topic, 1), (topic, 7), (missing, 0)])
    assert ends == {(topic, 0): 0, (topic, 1): 1, (topic, 7): 0, (missing, 0): 0}
    assert missing not in (await producer.client.fetch_all_metadata()).topics(), "asking created no topic"


async def test_a_partition_the_broker_cannot_answer_for_is_unknown_not_lost() -> None:
    """A real cluster's bad moments, answered by a stand-in client: a topic answered with an error other than 'no
    such topic', a partition without a leader, a ListOffsets error and a leader that does not answer are left out
    (asked again at the next check); only what the broker says it does not have is empty."""
    client = _Cluster(
        topics=[(0, "t.ok", [(0, 0, 1), (0, 1, -1), (0, 2, 1), (0, 3, 3)]),  # (error, partition, leader)
                (5, "t.busy", []),  # LEADER_NOT_AVAILABLE for the whole topic
                (3, "t.gone", [])],  # UNKNOWN_TOPIC_OR_PARTITION
        offsets={1: [("t.ok", [(0, 0, -1, 42), (2, 6, -1, 0)])], 3: ConnectionError("leader away")},
    )
    asked = [("t.ok", 0), ("t.ok", 1), ("t.ok", 2), ("t.ok", 3), ("t.ok", 4), ("t.busy", 0), ("t.gone", 0)]
    ends = await end_offsets(_Producer(client), asked)  # type: ignore[arg-type]
    assert ends == {("t.ok", 0): 42, ("t.ok", 4): 0, ("t.gone", 0): 0}
    assert client.metadata_asked == [["t.busy", "t.gone", "t.ok"]], "only the marked topics"


class _Cluster:
    """A stand-in for aiokafka's client: answers Metadata (v1) and ListOffsets (v1) from what it is given."""

    def __init__(self, topics: list[tuple[int, str, list[tuple[int, int, int]]]],
                 offsets: dict[int, list[tuple[str, list[tuple[int, int, int, int]]]] | Exception]) -> None:
        self._topics = topics
        self._offsets = offsets
        self.metadata_asked: list[list[str]] = []

    def get_random_node(self) -> int:
        return 1

    async def send(self, node: int, request: object) -> SimpleNamespace:
        if isinstance(request, MetadataRequest):
            self.metadata_asked.append(list(request._topics or []))
            return SimpleNamespace(API_VERSION=1, topics=[
                (error, topic, False, [(p_error, partition, leader, [], []) for p_error, partition, leader in parts])
                for error, topic, parts in self._topics])
        answer = self._offsets[node]
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(API_VERSION=1, topics=answer)


class _Producer:
    def __init__(self, client: _Cluster) -> None:
        self.client = client


async def test_the_aiokafka_internals_the_recovery_reads_are_there(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    """broker_loss reads the producer's open connections and group_commit the consumer's coordinator and client, all
    private to aiokafka: a release that moves them must fail here, not silently leave only the 5 s timer or commit
    nothing."""
    topic = await _published(pool, metrics, producer, topic_prefix, kafka_bootstrap_servers, rows=1)
    watch = LossWatch(producer, metrics, window=timedelta(hours=1), check_seconds=5)
    assert watch._links(), "a started producer has connections"

    consumer = inbox_consumer(pool, metrics, kafka_bootstrap_servers, topic_prefix,
                              ConsumerSpec("test.internals", {SCAN_ACCEPTED: _ignore}))
    await consumer.start()  # returns once the group gave it its partitions
    try:
        member, generation = fetched_as = membership(consumer._consumer)
        assert member and generation >= 0
        partition = TopicPartition(topic, 0)
        await commit_known_member(consumer._consumer, {partition: 1}, fetched_as=fetched_as)
        assert await consumer._consumer.committed(partition) == 1
        with pytest.raises(CommitRefused, match="joined again"):
            await commit_known_member(consumer._consumer, {partition: 0}, fetched_as=(f"{member}-before", generation))
        assert await consumer._consumer.committed(partition) == 1, "nothing committed under another membership"
    finally:
        await consumer.stop()


async def _ignore(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
    pass


@pytest.mark.parametrize("failure", ["the check fails", "a later send fails"])
async def test_a_log_found_started_again_by_a_batch_that_then_failed_is_still_a_loss(
    pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, kafka_bootstrap_servers: str,
    topic_prefix: str, failure: str,
) -> None:
    """In-band evidence (an offset acknowledged at or below the mark) goes with the rollback of the batch that found
    it, and the retried batch's offsets are past the mark: the relay keeps it for the next check — when the check it
    started fails (the topics cannot be created), and when a later send of the batch fails after earlier ones landed
    (their acknowledgements are waited for and compared)."""
    failing = [True]

    async def create_topics() -> None:
        if failing[0]:
            raise KafkaConnectionError("the broker went away again")

    topic = await _published(pool, metrics, producer, topic_prefix, kafka_bootstrap_servers, rows=2, partitions=1)
    # The broker acknowledged offsets 0 and 1. Say the mark was one higher: the next batch's first offset (2) is
    # handed out 'again', the retry's (3 or 4) is past the mark, and the end stays above the mark's low.
    await pool.execute("UPDATE outbox_acknowledged SET low_offset = 0, high_offset = 2")
    factory = sample_factory(topic_prefix)
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, "队", n) for n in range(2, 4)])
    if failure == "the check fails":
        relay = OutboxRelay(pool, producer, metrics, ensure_topics=create_topics)
    else:
        relay = OutboxRelay(pool, _FailingSend(producer, at=2), metrics)  # type: ignore[arg-type]
    with pytest.raises(KafkaConnectionError):
        await relay.publish_batch()
    assert await pool.fetchval("SELECT count(*) FROM broker_losses") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 2, "the batch rolled back"

    failing[0] = False
    await _drain(relay)  # the retry: its offsets are past the mark, yet the loss is found
    losses = await pool.fetch("SELECT how, partitions, republished FROM broker_losses")
    assert [(row["how"], row["partitions"], row["republished"]) for row in losses] == [
        ("acknowledged again", [f"{topic}/0"], 2)]
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


class _FailingSend:
    """Publishes for real, except its send number ``at``, which fails."""

    def __init__(self, inner: AIOKafkaProducer, at: int) -> None:
        self._inner = inner
        self._at = at
        self._sends = 0
        self.client = inner.client

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        self._sends += 1
        if self._sends == self._at:
            raise KafkaConnectionError("the broker went away mid-batch")
        return await self._inner.send(*args, **kwargs)
