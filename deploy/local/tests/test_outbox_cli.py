"""`pingan outbox parked` and `pingan outbox retry` as an operator runs them, over a row the relay really parked."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer

from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.kafka import ensure_topics
from pingan_shared.messaging.outbox import OutboxRelay, enqueue
from pingan_shared.metrics import Metrics
from pingan_stack.testing import SAMPLE_TIME, read_topic, run_pingan, sample_factory, sample_scan_event


async def pingan(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, with patrol's database where an operator's environment would point it."""
    return await asyncio.to_thread(run_pingan, *args, env={"PATROL_DATABASE_URL": database_url})


async def _producer(bootstrap: str, max_request_size: int) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                                max_request_size=max_request_size)
    await producer.start()
    return producer


async def test_a_parked_row_is_listed_with_its_error_and_published_once_retried_after_the_fix(
    pool: asyncpg.Pool, database_url: str, kafka_bootstrap_servers: str, topic_prefix: str,
) -> None:
    topic = f"{topic_prefix}patrol.scans"
    await ensure_topics(kafka_bootstrap_servers, [topic], partitions=3, replication_factor=1)
    factory = sample_factory(topic_prefix)
    big = Envelope(event_id=uuid.uuid4(), type=SCAN_ACCEPTED, schema_version=1, occurred_at=SAMPLE_TIME,
                   producer="test", key="一队", correlation_id=uuid.uuid4(), payload={"raw": "\x01" * 200_000})
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [sample_scan_event(factory, "一队", 1), (topic, big),
                             sample_scan_event(factory, "一队", 2)])

    metrics = Metrics("patrol")
    small_limit = await _producer(kafka_bootstrap_servers, max_request_size=1024 * 1024)  # 1.2 MB escaped: refused
    try:
        while await OutboxRelay(pool, small_limit, metrics).publish_batch():
            pass
    finally:
        await small_limit.stop()
    assert metrics.registry.get_sample_value("pingan_outbox_parked") == 1
    parked_id = await pool.fetchval("SELECT id FROM outbox WHERE parked_at IS NOT NULL")

    listed = await pingan("outbox", "parked", "--service", "patrol", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert "patrol: 1 parked outbox row(s)" in listed.stdout
    assert f"id {parked_id} " in listed.stdout and str(big.event_id) in listed.stdout
    assert "MessageSizeTooLargeError" in listed.stdout

    as_json = await pingan("outbox", "parked", "--service", "patrol", "--json", database_url=database_url)
    assert as_json.returncode == 0, as_json.stderr
    [row] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert (row["service"], row["id"], row["event_id"], row["key"], row["sequence"]) == (
        "patrol", parked_id, str(big.event_id), "一队", 2)
    assert row["size"] > 1024 * 1024 and row["error"].startswith("MessageSizeTooLargeError")

    # the operator raised the limit (broker and producer), then hands the row back
    retried = await pingan("outbox", "retry", "--service", "patrol", str(parked_id), "999999",
                           database_url=database_url)
    assert retried.returncode == 1, "an id that is not parked is reported"
    assert f"outbox row {parked_id} is waiting to be published again" in retried.stdout
    assert "no parked outbox row 999999" in retried.stderr

    large_limit = await _producer(kafka_bootstrap_servers, max_request_size=4 * 1024 * 1024)
    try:
        assert await OutboxRelay(pool, large_limit, metrics).publish_batch() == 1
    finally:
        await large_limit.stop()
    records = await read_topic(kafka_bootstrap_servers, topic, expected=3)
    assert str(big.event_id) in {json.loads(r.value)["event_id"] for r in records}  # type: ignore[attr-defined]
    assert metrics.registry.get_sample_value("pingan_outbox_parked") == 0

    after = await pingan("outbox", "parked", "--service", "patrol", database_url=database_url)
    assert "patrol: 0 parked outbox row(s)" in after.stdout


async def test_an_unreachable_database_is_reported_without_a_traceback() -> None:
    done = await pingan("outbox", "parked", "--service", "patrol",
                        database_url="postgresql://postgres:secret@127.0.0.1:1/pingan_patrol")
    assert done.returncode == 1
    assert "patrol: cannot read the outbox" in done.stderr and "secret" not in done.stderr
    assert "Traceback" not in done.stderr
