"""roster's database goes away mid-stream (sessions killed, new ones refused, as in a failover) and comes
back: the consumer waits it out in place, then counts every event exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import (
    SAMPLE_TIME,
    bearer,
    eventually,
    running_service,
    sample_factory,
    sample_scan_event,
)
from roster.bootstrap import bootstrap
from roster.settings import RosterSettings

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

TEAMS = [f"队{i}" for i in range(6)]
TOTAL = 3_000


async def test_the_consumer_waits_out_a_database_outage_and_counts_everything_once(
    platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]], postgres_server_url: str
) -> None:
    database_url = await database_factory()
    database = database_url.rsplit("/", 1)[1]
    # small batches: the outage lands between and inside many consumer transactions
    settings = RosterSettings(database_url=database_url, consumer_batch_size=50)
    service = bootstrap(platform=platform_settings, settings=settings, clock=FixedClock(SAMPLE_TIME))
    factory = sample_factory(platform_settings.kafka_topic_prefix)
    events = [sample_scan_event(factory, TEAMS[n % len(TEAMS)], n, member=f"队员{n % 7}") for n in range(TOTAL)]
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    admin = await asyncpg.connect(postgres_server_url)
    await producer.start()
    try:
        async with running_service(service) as client:
            async def counted() -> int:
                async with service.runtime.pool.acquire() as conn:
                    return int(await conn.fetchval("SELECT coalesce(sum(scan_count), 0) FROM attendance"))

            for topic, envelope in events[: TOTAL // 2]:
                await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode())
            await producer.flush()
            await eventually(lambda: _at_least(counted, 200), what="the consumer under way")

            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
            for topic, envelope in events[TOTAL // 2:]:  # the stream goes on while the database is away
                await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode())
            await producer.flush()
            await asyncio.sleep(3)
            assert service.runtime.failure is None, "the consumer gave up instead of waiting"
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

            await eventually(lambda: _at_least(counted, TOTAL), timeout=90, what="every event counted")
            await asyncio.sleep(2)  # a late redelivery would show now
            assert await counted() == TOTAL
            async with service.runtime.pool.acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM inbox") == TOTAL
            summary = await client.get("/v1/attendance", params={"limit": 1},
                                       headers=bearer(Role.SUPERVISOR, issued_at=SAMPLE_TIME))
            assert summary.json()["total_scans"] == TOTAL
            assert service.runtime.failure is None
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await admin.close()
        await producer.stop()


async def _at_least(read: Callable[[], Awaitable[int]], target: int) -> bool:
    return await read() >= target
