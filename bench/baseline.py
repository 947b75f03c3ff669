"""What every benchmark here measures next to its own figure, in the same run: the raw broker rate, and how a
run is set up (embedded PostgreSQL with fsync on and the tansu broker in a temporary directory) and reported.

Imported by the benchmarks as a sibling module (they run as ``python bench/<name>.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_stack.embedded import EmbeddedKafka, EmbeddedPostgres, free_port
from pingan_stack.test_tokens import install_session_auth_env


def say(message: str) -> None:
    print(message, flush=True)


@asynccontextmanager
async def broker_pair(bootstrap_servers: str, topic: str, *, client_id: str,
                      from_end: bool = True) -> AsyncIterator[tuple[AIOKafkaProducer, AIOKafkaConsumer]]:
    """A producer with the services' settings (acks=all) and a group-less consumer of ``topic`` (created if missing),
    the consumer placed at the topic's end before anything is sent (``from_end``) or reading it from its start."""
    await ensure_topics(bootstrap_servers, [topic], partitions=3, replication_factor=1)
    producer = build_producer(bootstrap_servers, client_id=client_id)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=None,
                                auto_offset_reset="latest" if from_end else "earliest", enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        if from_end:
            await consumer.seek_to_end()
            for partition in consumer.assignment():  # resolve the end offsets before the first send
                await consumer.position(partition)
        yield producer, consumer
    finally:
        await consumer.stop()
        await producer.stop()


async def round_trip(producer: AIOKafkaProducer, consumer: AIOKafkaConsumer, topic: str, envelope: Envelope, *,
                     give_up: float | None = None) -> float | None:
    """Seconds from sending ``envelope`` (acks=all) until ``consumer`` reads a record; None if none came within
    ``give_up`` seconds (None: wait for ever)."""
    started = time.perf_counter()
    await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
    while not await consumer.getmany(timeout_ms=1000, max_records=1):
        if give_up is not None and time.perf_counter() - started > give_up:
            return None
    return time.perf_counter() - started


async def raw_broker_rate(bootstrap_servers: str, messages: Sequence[tuple[str, Envelope]]) -> float:
    """Messages per second for produce (acks=all, the services' producer settings) + consume of ``messages``
    (real envelopes, all on one topic, keyed as the services key them), from the first send to the last read."""
    count, topic = len(messages), messages[0][0]
    async with broker_pair(bootstrap_servers, topic, client_id="bench-raw", from_end=False) as (producer, consumer):
        started = time.perf_counter()
        deliveries = [await producer.send(topic, value=env.to_bytes(), key=env.key.encode()) for _, env in messages]
        await asyncio.gather(*deliveries)
        read = 0
        while read < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            read += sum(len(records) for records in batch.values())
        return count / (time.perf_counter() - started)


@asynccontextmanager
async def servers(workdir: Path) -> AsyncIterator[tuple[EmbeddedPostgres, EmbeddedKafka]]:
    """The machine line, then embedded PostgreSQL (fsync on, as `make up`) and the tansu broker, stopped after."""
    say(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    postgres = EmbeddedPostgres(workdir / "pgdata", port=free_port(), durable=True)
    kafka = EmbeddedKafka(port=free_port(), log_path=workdir / "broker.log")
    stoppers: list[Callable[[], None]] = []
    try:
        say("starting embedded PostgreSQL (fsync on, as `make up`) and the tansu broker …")
        postgres.start()
        stoppers.append(postgres.stop)
        kafka.start()
        stoppers.append(kafka.stop)
        yield postgres, kafka
    finally:
        for stop in reversed(stoppers):
            stop()


def run_benchmark(measure: Callable[[argparse.Namespace, Path], Coroutine[Any, Any, None]],
                  args: argparse.Namespace) -> None:
    """``measure(args, workdir)`` in a fresh temporary directory; Ctrl-C ends it with one line. The services it starts
    verify, and ``bearer()`` signs, with one signing key made for the run (as the test plugin does)."""
    install_session_auth_env()
    with tempfile.TemporaryDirectory(prefix="pingan-bench-") as tmp:
        try:
            asyncio.run(measure(args, Path(tmp)))
        except KeyboardInterrupt:
            say("interrupted")


def spread(values: Sequence[float]) -> str:
    """Rates over the runs, whole numbers: ``min …   median …   max …``."""
    return f"min {min(values):>9,.0f}   median {statistics.median(values):>9,.0f}   max {max(values):>9,.0f}"


def ratio_spread(ratios: Sequence[float]) -> str:
    """Ratios against the baseline over the runs, three decimals."""
    return f"min {min(ratios):.3f}   median {statistics.median(ratios):.3f}   max {max(ratios):.3f}"


def upload_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of a benchmark that posts scans to patrol in uploads."""
    parser.add_argument("--scans", type=int, default=20_000, help="scans per run")
    parser.add_argument("--batch", type=int, default=500, help="scans per upload (max 500)")
    parser.add_argument("--concurrency", type=int, default=4, help="uploads in flight")
    parser.add_argument("--runs", type=int, default=3)
    return parser


async def wait_until(conn: asyncpg.Connection, query: str, *, timeout: float = 600, poll: float = 0.02) -> None:
    """Poll ``query`` (one boolean) until it is true; a timeout is an error, never a figure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await conn.fetchval(query):
            return
        await asyncio.sleep(poll)
    raise RuntimeError(f"timed out waiting for: {query}")
