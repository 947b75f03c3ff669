"""The broker goes away mid-stream and comes back: scans are still accepted (the outbox holds their
events), the service stays ready while /ready's body and pingan_broker_up report the broker away, and
roster ends with every scan exactly once.

Uses its own embedded broker (it is stopped and started here), whatever the session's broker is.
"""

# patrol's live-coverage stream app (faust) is off in these tests: they are about intake, the outbox and
# readiness while the broker is away. A faust app stopped while its broker is gone can leave its consumer thread
# retrying and its stop pending in this process, which then hangs the session's event loop at close (seen once).

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.embedded import EmbeddedKafka
from pingan_stack.harness import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS
from pingan_stack.testing import bearer, eventually, running_service, scrape

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

DEVICE = bearer(Role.PATROL_DEVICE, "device-1", team="一队")



def scans(start: int, stop: int) -> dict[str, object]:
    now = datetime.now(UTC) - timedelta(minutes=5)
    return {"scans": [{"scan_id": f"s-{i}", "member_id": f"队员{i % 4}", "team_id": "一队", "checkpoint_id": "CP-1",
                       "device_time": (now + timedelta(seconds=i)).isoformat()} for i in range(start, stop)]}


@pytest.fixture
async def services(
    own_broker: EmbeddedKafka, topic_prefix: str, database_factory: Callable[[], Awaitable[str]]
) -> AsyncIterator[tuple[Service, httpx.AsyncClient, httpx.AsyncClient]]:
    from patrol.bootstrap import bootstrap as patrol_bootstrap
    from patrol.live.settings import LiveCoverageSettings
    from patrol.settings import PatrolSettings
    from roster.bootstrap import bootstrap as roster_bootstrap
    from roster.settings import RosterSettings

    platform = PlatformSettings(pingan_env="test", kafka_bootstrap_servers=own_broker.bootstrap_servers,
                                kafka_topic_prefix=topic_prefix, kafka_topic_partitions=3,
                                kafka_session_timeout_ms=SESSION_TIMEOUT_MS,
                                kafka_heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS)
    patrol = patrol_bootstrap(platform=platform, settings=PatrolSettings(database_url=await database_factory()),
                              live=LiveCoverageSettings(enabled=False))
    roster = roster_bootstrap(platform=platform, settings=RosterSettings(database_url=await database_factory()))
    async with AsyncExitStack() as stack:
        patrol_client = await stack.enter_async_context(running_service(patrol))
        roster_client = await stack.enter_async_context(running_service(roster))
        yield patrol, patrol_client, roster_client


async def test_scans_accepted_while_the_broker_is_down_arrive_once_it_is_back(
    own_broker: EmbeddedKafka, services: tuple[Service, httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    patrol_service, patrol, roster = services
    supervisor = bearer(Role.SUPERVISOR)

    async def roster_total() -> int:
        response = await roster.get("/v1/attendance", headers=supervisor, params={"limit": 1})
        return int(response.json()["total_scans"])

    registered = await patrol.post("/v1/checkpoints", json={"id": "CP-1", "tag": "t", "name": "路口"},
                                   headers=bearer(Role.ADMIN))
    assert registered.status_code == 201
    assert (await patrol.post("/v1/scans", json=scans(0, 50), headers=DEVICE)).json()["accepted"] == 50

    async def first_half_counted() -> bool:
        return await roster_total() == 50

    await eventually(first_half_counted, timeout=60, what="the first 50 scans in roster")

    own_broker.stop()
    during = await patrol.post("/v1/scans", json=scans(50, 100), headers=DEVICE)
    assert during.status_code == 200 and during.json()["accepted"] == 50  # the outbox holds their events

    async def broker_reported_away() -> bool:
        ready = await patrol.get("/ready")
        assert ready.status_code == 200, ready.text  # still taking writes: the broker is reported, not required
        return bool(ready.json()["checks"]["broker"].startswith("unreachable since"))

    await eventually(broker_reported_away, timeout=30, what="/ready to report the broker unreachable")
    assert "pingan_broker_up 0.0" in await scrape(patrol_service)

    own_broker.start()  # same address; the embedded broker starts empty

    async def all_counted() -> bool:
        return await roster_total() >= 100

    await eventually(all_counted, timeout=120, interval=0.5, what="every scan in roster after the outage")
    assert await roster_total() == 100

    async def broker_reported_back() -> bool:
        return bool((await patrol.get("/ready")).json()["checks"]["broker"] == "ok")

    await eventually(broker_reported_back, timeout=30, what="/ready to report the broker back")
