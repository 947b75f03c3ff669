"""Tests' topics: read from the start (what a test expects a topic to hold), and gone when the tests end.

Each xdist worker has one broker, and every test (and every service harness in it) works under a topic prefix of
its own. Every Kafka client's start fetches the metadata of every topic on the broker, so a broker that kept every
earlier test's topics made each start dearer as the run went on: 35 ms of CPU at 1,000 topics against 1 ms at none,
and the suite starts thousands of clients.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


async def delete_topics(bootstrap_servers: str, prefix: str) -> None:
    """Delete the topics whose names start with ``prefix``; a broker a fault test left down is let be (its
    memory storage went with it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5_000)
    try:
        await admin.start()
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    except (KafkaError, OSError, TimeoutError):
        pass
    finally:
        await admin.close()


async def read_topic(bootstrap_servers: str, topic: str, *, expected: int, timeout: float = 30) -> list[object]:
    """Read a topic from the beginning until ``expected`` records arrived (or fail)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[object] = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    if len(records) < expected:
        raise AssertionError(f"{topic}: expected {expected} records, got {len(records)} in {timeout} s")
    return records


async def read_everything(bootstrap_servers: str, topic: str, *, at_least: int, settle: float,
                          timeout: float = 30) -> list[dict[str, Any]]:
    """Read a topic from the beginning, decoded as JSON, until at least ``at_least`` records arrived and then none
    more for ``settle`` seconds (or fail after ``timeout`` seconds with fewer)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            got = [r for rs in batch.values() for r in rs]
            records.extend(json.loads(r.value) for r in got)
            if len(records) >= at_least:
                if got or quiet_since is None:
                    quiet_since = time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    break
    finally:
        await consumer.stop()
    if len(records) < at_least:
        raise AssertionError(f"{topic}: expected at least {at_least} records, got {len(records)} in {timeout} s")
    return records
