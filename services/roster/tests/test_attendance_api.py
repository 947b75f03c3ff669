"""roster's attendance read-out over a real broker and database: scan events in, attendance out,
and the query misuse an organiser's script can commit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import (
    SAMPLE_TIME,
    bearer,
    eventually,
    running_service,
    sample_factory,
    sample_scan_event,
    scrape,
)
from roster.bootstrap import bootstrap
from roster.settings import RosterSettings

SUPERVISOR = bearer(Role.SUPERVISOR, "督导组", issued_at=SAMPLE_TIME)
DEVICE = bearer(Role.PATROL_DEVICE, "device-07", team="一队", issued_at=SAMPLE_TIME)


@pytest.fixture
def service(database_url: str, platform_settings: PlatformSettings) -> Service:
    return bootstrap(platform=platform_settings, settings=RosterSettings(database_url=database_url),
                     clock=FixedClock(SAMPLE_TIME))


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(service) as client:
        yield client


async def test_scan_events_become_attendance_per_member_and_local_day(
    service: Service, client: httpx.AsyncClient, platform_settings: PlatformSettings
) -> None:
    factory = sample_factory(platform_settings.kafka_topic_prefix)
    events = [sample_scan_event(factory, "一队", i, member) for i, member in enumerate(["张三", "张三", "李四"])]
    events.append(sample_scan_event(factory, "二队", 0, "张三"))  # another team's 张三 is another person
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:
        for topic, envelope in [*events, events[0]]:  # the last one is a redelivery
            await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
    finally:
        await producer.stop()

    async def counts(team: str) -> dict[str, int]:
        response = await client.get("/v1/attendance", params={"team_id": team}, headers=SUPERVISOR)
        assert response.status_code == 200, response.text
        return {row["member_id"]: row["scan_count"] for row in response.json()["attendance"]}

    async def counted() -> bool:
        return await counts("一队") == {"张三": 2, "李四": 1} and await counts("二队") == {"张三": 1}

    await eventually(counted, what="attendance of the four scans, the redelivery counted once")
    # SAMPLE_TIME is 20:00 in Ruian: the local day is the UTC day here
    by_day = await client.get("/v1/attendance", params={"day": "2026-11-22", "member_id": "张三"}, headers=SUPERVISOR)
    assert by_day.json()["total_scans"] == 3  # both teams' 张三, each on its own row
    assert len(by_day.json()["attendance"]) == 2
    other_day = await client.get("/v1/attendance", params={"day": "2026-11-21"}, headers=SUPERVISOR)
    assert other_day.json() == {"total_scans": 0, "attendance": []}

    metrics = await scrape(service)
    group = f"{platform_settings.kafka_topic_prefix}roster.scans"
    consumed = f'pingan_events_consumed_total{{group="{group}",outcome="%s",type="patrol.scan-accepted"}} %s'
    assert consumed % ("handled", "4.0") in metrics and consumed % ("duplicate", "1.0") in metrics
    lags = [line for line in metrics.splitlines() if line.startswith(f'pingan_consumer_lag{{group="{group}"')]
    assert lags and all(line.endswith(" 0.0") for line in lags), lags  # caught up


BAD_QUERIES: list[tuple[dict[str, str], str]] = [
    ({"day": "2026-13-45"}, "query.day"),
    ({"day": "昨天"}, "query.day"),
    ({"team_id": "一队\x00"}, "query.team_id"),
    ({"member_id": "巡" * 65}, "query.member_id"),
    ({"limit": "0"}, "query.limit"),
    ({"limit": "many"}, "query.limit"),
]


async def test_bad_queries_get_a_422_naming_the_parameter(client: httpx.AsyncClient) -> None:
    # one service for every case: reading attendance changes nothing
    for params, field in BAD_QUERIES:
        response = await client.get("/v1/attendance", params=params, headers=SUPERVISOR)
        assert response.status_code == 422, (params, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], (params, response.text)


async def test_attendance_is_for_organisers_supervisors_and_admins(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/attendance")).status_code == 401
    refused = await client.get("/v1/attendance", headers=DEVICE)
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "Authorization"
    for role in (Role.ORGANISER, Role.ADMIN):
        assert (await client.get("/v1/attendance", headers=bearer(role, issued_at=SAMPLE_TIME))).status_code == 200
