"""A patrol night end to end across processes: a round not started within its grace → patrol's alert signal →
the alerts service raises an alert on the built-in ladder of ``patrol.round-not-started`` and climbs it (the
township supervisor at once, the city office an hour later) → the team starts late (a scan) → patrol's resolve
signal closes the alert. patrol and alerts run as their own processes and databases on one broker, both on a
clock compressed to 10 s an hour, so the night's hour and a quarter takes about fifteen seconds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from pingan_shared.auth import Role
from pingan_stack.harness import ProcessCluster
from pingan_stack.sample_directory import SAMPLE, seed_directory
from pingan_stack.testing import bearer, eventually

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Shanghai")
SCALE = 3600 / 10  # an hour in 10 seconds
TOWNSHIP = "塘下镇"
TOWNSHIP_CODE = "330381102000"  # what patrol keeps of the route's area, and what the alert's ladder addresses
TEAM = "塘下一队"
DUTY_OFFICER = "塘下镇平安办值班员"


async def test_a_round_not_started_climbs_its_builtin_ladder_and_a_late_start_resolves_it(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    clock = cluster.compressed_clock(SCALE)
    patrol_db = await database_factory()
    patrol = cluster.start("patrol", patrol_db)
    alerts_db = await database_factory()
    alerts = cluster.start("alerts", alerts_db)
    # patrol plans for teams its copy of the directory holds and keeps areas by their codes; alerts places the
    # alert by the same copy (tests/test_one_city.py loads one through roster)
    for database in (patrol_db, alerts_db):
        conn = await asyncpg.connect(database)
        try:
            await seed_directory(conn, SAMPLE)
        finally:
            await conn.close()

    def auth(role: Role, subject: str, **claims: Any) -> dict[str, str]:
        return bearer(role, subject, issued_at=clock.now(), ttl=timedelta(days=60), **claims)

    organiser = auth(Role.ORGANISER, "瑞安市平安办")
    admin = auth(Role.ADMIN, "平安办管理员")
    township = auth(Role.SUPERVISOR, DUTY_OFFICER, scope=TOWNSHIP)
    other_township = auth(Role.SUPERVISOR, "安阳街道平安办", scope="安阳街道")
    device = auth(Role.PATROL_DEVICE, "device-01", team=TEAM)

    async with httpx.AsyncClient(timeout=30) as http:
        async def ok(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> Any:
            response = await http.request(method, url, headers=headers, **kwargs)
            assert response.status_code in (200, 201), f"{method} {url}: {response.status_code} {response.text}"
            return response.json()

        # the township's duty officer in the contacts directory, as the group the ladder's first step names
        await ok("PUT", f"{alerts.url}/v1/contacts/person:{DUTY_OFFICER}", admin,
                 json={"display_name": DUTY_OFFICER, "subject": DUTY_OFFICER})
        await ok("PUT", f"{alerts.url}/v1/contacts/role:township-supervisor:{TOWNSHIP_CODE}", admin,
                 json={"display_name": "塘下镇平安办", "members": [f"person:{DUTY_OFFICER}"]})
        await ok("PUT", f"{alerts.url}/v1/contacts/role:city-office", admin, json={"display_name": "市平安办"})

        await ok("POST", f"{patrol.url}/v1/checkpoints", organiser,
                 json={"id": "CP-A", "tag": "nfc-CP-A", "name": "塘下镇罗凤街口"})
        await ok("POST", f"{patrol.url}/v1/routes", organiser,
                 json={"id": "R-TX-1", "name": "塘下镇夜巡一线", "area": TOWNSHIP, "checkpoint_ids": ["CP-A"]})
        # one round from the next whole minute 15 (scaled) minutes ahead, three hours long, 5 minutes' start grace
        local = (clock.now().astimezone(ZONE) + timedelta(minutes=16)).replace(second=0, microsecond=0)
        starts_at, grace = local, timedelta(minutes=5)
        await ok("POST", f"{patrol.url}/v1/plans", organiser, json={
            "id": "P-1", "team_id": TEAM, "route_id": "R-TX-1", "first_date": local.date().isoformat(),
            "window_start": f"{local:%H:%M}", "window_end": f"{local + timedelta(hours=3):%H:%M}",
            "rounds_per_night": 1, "start_grace_minutes": 5, "checkpoint_grace_minutes": 10})
        rounds = (await ok("GET", f"{patrol.url}/v1/rounds", organiser, params={"team_id": TEAM}))["items"]
        assert len(rounds) == 1 and rounds[0]["area"] == TOWNSHIP_CODE  # the route's area was given by name
        key = f"patrol:round:{rounds[0]['id']}:not-started"

        async def alert() -> dict[str, Any] | None:
            page = await ok("GET", f"{alerts.url}/v1/alerts", township)
            return next((a for a in page["items"] if a["dedup_key"] == key), None)

        async def raised() -> bool:
            return await alert() is not None

        # nobody scans: the grace passes, patrol signals, alerts raises it on the built-in ladder at once
        await eventually(raised, timeout=30, interval=0.1, what="the not-started alert")
        first = await alert()
        assert first is not None
        assert clock.now() >= starts_at + grace
        assert first["policy"]["id"] == "builtin:patrol.round-not-started"
        assert first["area"] == TOWNSHIP_CODE and first["current_step"] == 0 and first["status"] == "open"
        assert first["policy"]["steps"][0]["targets"] == [f"role:township-supervisor:{TOWNSHIP_CODE}"]
        assert first["policy"]["steps"][1]["targets"] == ["role:city-office"]
        assert (await http.get(f"{alerts.url}/v1/alerts/{first['id']}", headers=other_township)).status_code == 404
        auditor = await ok("GET", f"{alerts.url}/v1/auditor", admin)
        assert auditor["findings"]["leading_nowhere"] == []

        async def in_inbox() -> bool:
            inbox = await ok("GET", f"{alerts.url}/v1/inbox", township)
            return "未出巡提醒" in str(inbox)

        await eventually(in_inbox, timeout=20, interval=0.2, what="the township duty officer's inbox")

        # an hour (10 s) after the raise, unacknowledged, the city office is told
        async def climbed() -> bool:
            current = await alert()
            return current is not None and current["current_step"] == 1

        await eventually(climbed, timeout=25, interval=0.2, what="step 1 (市级通报)")
        escalated_at = clock.now()
        assert escalated_at - datetime.fromisoformat(first["raised_at"]) >= timedelta(hours=1)
        timeline = await ok("GET", f"{alerts.url}/v1/alerts/{first['id']}/timeline", township)
        steps = [(e["detail"]["step"], e["detail"]["label"]) for e in timeline if e["kind"] == "step"]
        assert steps == [(0, "未出巡提醒"), (1, "市级通报")]

        # the team starts late: a scan inside the window → patrol's resolve → the alert is closed
        scanned_at = clock.now() - timedelta(minutes=1)
        assert starts_at < scanned_at < starts_at + timedelta(hours=3)
        await ok("POST", f"{patrol.url}/v1/scans", device, json={"scans": [{
            "scan_id": "s-late", "member_id": "张三", "team_id": TEAM, "checkpoint_id": "CP-A",
            "device_time": scanned_at.isoformat()}]})

        async def resolved() -> bool:
            current = await alert()
            return current is not None and current["status"] == "resolved"

        await eventually(resolved, timeout=25, interval=0.2, what="the late start to resolve the alert")
        closed = await alert()
        assert closed is not None and closed["current_step"] == 1
        timeline = await ok("GET", f"{alerts.url}/v1/alerts/{first['id']}/timeline", township)
        assert [e["kind"] for e in timeline if e["kind"] in ("raised", "step", "resolved")] == [
            "raised", "step", "step", "resolved"]
