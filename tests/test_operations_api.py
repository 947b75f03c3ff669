"""/v1/operations on a real service (patrol; every service mounts the same shared router): an outbox row its own
relay parked and a timer a runner failed for good are listed with their errors and handed back over HTTP, admins
only, and the OpenAPI says so with every answer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from patrol.bootstrap import bootstrap
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.metrics import Metrics
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_shared.timer_runner import TimerRunner
from pingan_shared.timers import Timer, schedule
from pingan_stack.testing import SAMPLE_TIME, bearer, eventually, running_service, sample_factory, sample_scan_event

ADMIN = bearer(Role.ADMIN, "运维", issued_at=SAMPLE_TIME)
ORGANISER = bearer(Role.ORGANISER, "平安办", issued_at=SAMPLE_TIME)
ILLEGAL_TOPIC = "patrol scans / with spaces"  # no broker can have it: the relay parks the row at once
ROUTES = [("GET", "/v1/operations/outbox/parked"), ("POST", "/v1/operations/outbox/parked/1/retry"),
          ("GET", "/v1/operations/timers/failed"), ("POST", "/v1/operations/timers/failed/1/retry")]


@pytest.fixture
def service(database_url: str, platform_settings: PlatformSettings) -> Service:
    return bootstrap(platform=platform_settings, settings=PatrolSettings(database_url=database_url),
                     clock=FixedClock(SAMPLE_TIME))


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(service) as client:
        yield client


async def _ok(client: httpx.AsyncClient, method: str, path: str, **kwargs: object) -> dict[str, object]:
    response = await client.request(method, path, headers=ADMIN, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
    body: dict[str, object] = response.json()
    return body


async def test_a_parked_outbox_row_is_listed_with_its_error_and_retried_once(
    service: Service, client: httpx.AsyncClient, topic_prefix: str,
) -> None:
    pool = service.runtime.pool
    bad = (ILLEGAL_TOPIC, sample_scan_event(sample_factory(topic_prefix), "一队", 1)[1])
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [bad])

    async def parked() -> list[dict[str, object]]:
        items = (await _ok(client, "GET", "/v1/operations/outbox/parked"))["items"]
        assert isinstance(items, list)
        return items

    await eventually(parked, what="the relay parked the row")
    [row] = await parked()
    assert row["topic"] == ILLEGAL_TOPIC and row["event_id"] == str(bad[1].event_id)
    assert row["event_type"] == bad[1].type and row["key"] == "一队"
    assert "InvalidTopic" in str(row["error"]) and isinstance(row["size"], int) and row["size"] > 0

    # paging: a page of one after the only row is empty
    assert await _ok(client, "GET", "/v1/operations/outbox/parked", params={"limit": 1}) == {
        "items": [row], "next_after": row["id"]}
    assert await _ok(client, "GET", "/v1/operations/outbox/parked",
                     params={"after": row["id"]}) == {"items": [], "next_after": None}

    retried = await _ok(client, "POST", f"/v1/operations/outbox/parked/{row['id']}/retry")
    assert retried == {"id": row["id"], "status": "pending"}
    # handed back, the relay tries it again; the broker refuses it again, so it is parked again with a new stamp
    async with pool.acquire() as conn:
        await eventually(lambda: _parked_again(conn, row), what="the retried row parked again")
    unknown = await client.post("/v1/operations/outbox/parked/999999/retry", headers=ADMIN)
    assert unknown.status_code == 404
    assert unknown.json()["errors"] == [{"field": "row_id", "reason": unknown.json()["detail"]}]


async def _parked_again(conn: asyncpg.Connection, row: dict[str, object]) -> bool:
    parked_at = await conn.fetchval("SELECT parked_at FROM outbox WHERE id = $1", row["id"])
    return parked_at is not None and parked_at.isoformat() != row["parked_at"]


async def test_a_failed_timer_is_listed_and_fires_once_retried(service: Service, client: httpx.AsyncClient) -> None:
    pool = service.runtime.pool
    fired: list[str] = []

    async def deliver(conn: asyncpg.Connection, timer: Timer) -> None:
        if not fired:
            fired.append("refused")
            raise RuntimeError("约谈通知模板缺失")
        fired.append(timer.key)

    # a runner of its own over the service's timers table (a kind the service does not handle, so only it fires)
    kind = f"test-{uuid.uuid4().hex[:6]}"
    runner = TimerRunner(pool, FixedClock(SAMPLE_TIME), {kind: deliver}, Metrics("t"), max_attempts=1)
    async with pool.acquire() as conn:
        await schedule(conn, kind, "notice-3", SAMPLE_TIME - timedelta(hours=1), {"step": "约谈"})
    assert await runner.fire_due() == 1

    listed = await _ok(client, "GET", "/v1/operations/timers/failed")
    [timer] = listed["items"]  # type: ignore[misc]
    assert {k: v for k, v in timer.items() if k != "id"} == {
        "kind": kind, "key": "notice-3", "due_at": (SAMPLE_TIME - timedelta(hours=1)).isoformat(), "attempts": 1,
        "last_error": "RuntimeError('约谈通知模板缺失')", "payload": {"step": "约谈"}}
    assert listed["next_after"] is None

    assert await _ok(client, "POST", f"/v1/operations/timers/failed/{timer['id']}/retry") == {
        "id": timer["id"], "status": "pending"}
    again = await client.post(f"/v1/operations/timers/failed/{timer['id']}/retry", headers=ADMIN)
    assert again.status_code == 404 and again.json()["errors"][0]["field"] == "timer_id"
    assert (await _ok(client, "GET", "/v1/operations/timers/failed"))["items"] == []
    assert await runner.fire_due() == 1
    assert fired == ["refused", "notice-3"]


async def test_only_an_admin_reaches_them_and_the_openapi_says_so(client: httpx.AsyncClient) -> None:
    for method, path in ROUTES:
        refused = await client.request(method, path, headers=ORGANISER)
        assert refused.status_code == 403, (method, path, refused.text)
        assert (await client.request(method, path)).status_code == 401, (method, path)
    bad_paging = await client.get("/v1/operations/timers/failed", params={"limit": 0}, headers=ADMIN)
    assert bad_paging.status_code == 422 and bad_paging.json()["errors"][0]["field"] == "query.limit"

    openapi = (await client.get("/openapi.json")).json()
    for method, path in ROUTES:
        template = path.replace("/1/", "/{row_id}/" if "outbox" in path else "/{timer_id}/")
        operation = openapi["paths"][template][method.lower()]
        assert operation["security"] == [{"bearer": ["admin"]}], template
        expected = {"200", "401", "403", "422", "503"} | ({"404"} if method == "POST" else set())
        assert set(operation["responses"]) == expected, (template, sorted(operation["responses"]))
