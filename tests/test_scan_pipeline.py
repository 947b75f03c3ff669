"""The first capability end to end: a device's scans travel HTTP → patrol (PostgreSQL + outbox) →
Kafka → roster (inbox + attendance), each service its own process and database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_stack.harness import ProcessCluster
from pingan_stack.testing import bearer, eventually

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

BEIJING = ZoneInfo("Asia/Shanghai")
ORGANISER = bearer(Role.ORGANISER, "平安办")
SUPERVISOR = bearer(Role.SUPERVISOR, "督导")


async def test_scans_become_attendance_in_another_process(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    patrol = cluster.start("patrol", await database_factory())
    roster = cluster.start("roster", await database_factory())
    device = bearer(Role.PATROL_DEVICE, "device-01", team="安阳一队")
    # 21:30 Beijing time yesterday evening: a night patrol, counted for its local date
    yesterday = datetime.now(BEIJING).date() - timedelta(days=1)
    night = datetime.combine(yesterday, time(21, 30), BEIJING)

    async with httpx.AsyncClient(timeout=30) as http:
        registered = await http.post(f"{patrol.url}/v1/checkpoints", headers=ORGANISER,
                                     json={"id": "CP-1", "tag": "NFC-万松路口", "name": "万松路口"})
        assert registered.status_code == 201, registered.text
        scans = [
            {"scan_id": f"s-{i}", "member_id": member, "team_id": "安阳一队", "tag": "NFC-万松路口",
             "device_time": (night + timedelta(minutes=i)).isoformat()}
            for i, member in enumerate(["张三", "张三", "李四"])
        ]
        posted = await http.post(f"{patrol.url}/v1/scans", headers=device,
                                 json={"scans": [*scans, scans[0], {**scans[1], "member_id": "王五"},
                                                 {**scans[2], "scan_id": "s-x", "team_id": "别的队"}]})
        assert posted.status_code == 200, posted.text
        assert [r["status"] for r in posted.json()["results"]] == [
            "accepted", "accepted", "accepted", "duplicate", "conflict", "rejected"]
        # the device retries the whole upload (it never saw the answer): nothing new is counted
        retried = await http.post(f"{patrol.url}/v1/scans", headers=device, json={"scans": scans})
        assert retried.json()["duplicate"] == 3

        async def attendance() -> dict[str, int]:
            response = await http.get(f"{roster.url}/v1/attendance", headers=SUPERVISOR,
                                      params={"team_id": "安阳一队"})
            assert response.status_code == 200, response.text
            return {row["member_id"]: row["scan_count"] for row in response.json()["attendance"]}

        async def counted() -> bool:
            return await attendance() == {"张三": 2, "李四": 1}

        await eventually(counted, timeout=60, what="roster to record the three accepted scans")
        by_day = await http.get(f"{roster.url}/v1/attendance", headers=SUPERVISOR,
                                params={"day": yesterday.isoformat()})
        assert by_day.json()["total_scans"] == 3
        refused = await http.get(f"{roster.url}/v1/attendance", headers=device)
        assert refused.status_code == 403
