"""Every service boots on real servers: migrations applied, topics created, ops endpoints answer."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from pingan_shared.auth import Role
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, eventually, running_service, scrape
from pingan_stack.topology import SERVICES


@pytest.mark.parametrize("name", [s.name for s in SERVICES])
async def test_service_boots_and_reports_ready(
    name: str, platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]]
) -> None:
    bootstrap = importlib.import_module(f"{name}.bootstrap").bootstrap
    settings_module = importlib.import_module(f"{name}.settings")
    settings_class = next(
        v for k, v in vars(settings_module).items() if k.endswith("Settings") and k != "ServiceSettings"
    )
    service = bootstrap(platform=platform_settings, settings=settings_class(database_url=await database_factory()))
    async with running_service(service) as client:
        assert (await client.get("/health")).json() == {"status": "ok", "service": name}
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        # with the broker answering at start, its clients (topics, producer, consumers) are up before serving
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "workers": "ok", "broker": "ok"}
        metrics = await scrape(service)
        assert f'pingan_service_info{{service="{name}"}} 1.0' in metrics
        assert "pingan_broker_up 1.0" in metrics
        assert (await client.get("/v1/does-not-exist", headers=bearer(Role.ADMIN))).status_code == 404
        migrated = await service.runtime.pool.fetchval(
            "SELECT count(*) FROM schema_migrations WHERE component = $1", name)
        assert migrated >= 1

    admin = AIOKafkaAdminClient(bootstrap_servers=platform_settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        topics = set(await admin.list_topics())
    finally:
        await admin.close()
    assert set(service.runtime.topics()) <= topics
    assert platform_settings.topic(f"deadletter.{name}") in topics


async def test_a_database_outage_is_reported_and_survived(
    platform_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]], postgres_server_url: str
) -> None:
    """PostgreSQL drops every session and refuses new ones for a while, then comes back."""
    from patrol.bootstrap import bootstrap
    from patrol.settings import PatrolSettings

    database_url = await database_factory()
    database = database_url.rsplit("/", 1)[1]
    service = bootstrap(platform=platform_settings, settings=PatrolSettings(database_url=database_url))
    organiser, device = bearer(Role.ORGANISER), bearer(Role.PATROL_DEVICE, team="一队")
    # a device time relative to now: the scan must be inside the offline window whenever the test runs
    scan = {"scan_id": "s-1", "member_id": "张三", "team_id": "一队", "checkpoint_id": "CP-1",
            "device_time": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}
    admin = await asyncpg.connect(postgres_server_url)
    async with running_service(service) as client:
        await client.post("/v1/checkpoints", json={"id": "CP-1", "tag": "t1", "name": "路口"}, headers=organiser)
        try:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"].startswith("unreachable")
            assert (await client.get("/health")).status_code == 200  # alive, just not ready
            refused = await client.post("/v1/scans", json=scan, headers=device)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        finally:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
            await admin.close()

        async def ready_again() -> bool:
            return (await client.get("/ready")).status_code == 200

        await eventually(ready_again, what="readiness after the outage")
        accepted = await client.post("/v1/scans", json=scan, headers=device)
        assert accepted.status_code == 201, accepted.text

        async def published() -> bool:  # the relay reconnected and drained the outbox
            return await service.runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

        await eventually(published, what="the relay to publish after the outage")
        assert service.runtime.failure is None
