"""Broker-loss recovery on the session's broker, without restarting it: which kept rows a loss puts back, what the
relay finds about the broker, and the aiokafka internals the recovery reads (messaging/broker_loss.py,
messaging/group_commit.py). A loss is made by raising the marks above what the broker holds, which is what a broker
that restarted empty looks like to the relay."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from aiokafka import AIOKafkaProducer

from pingan_shared.messaging.housekeeping import Housekeeper
from pingan_shared.messaging.kafka import ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay, enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.testing import sample_factory, sample_scan_event


async def _published(pool: asyncpg.Pool, metrics: Metrics, producer: AIOKafkaProducer, prefix: str,
                     bootstrap: str, rows: int) -> str:
    topic = f"{prefix}patrol.scans"
    await ensure_topics(bootstrap, [topic], partitions=2, replication_factor=1)
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
