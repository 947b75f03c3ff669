"""211 end to end across processes: a task not rectified by its deadline → inspection's overdue signal → the
alerts service raises an alert on the built-in 211 ladder and climbs it → inspection records each step as
accountability on the task (逾期提醒, then 通报 a day later). inspection and alerts run as their own processes
and databases on one broker, both on a clock compressed to 8 s a day, so the 2-day cycle (1 covert day, 1 of
rectification) and the next step take about half a minute."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from pingan_shared.auth import Role
from pingan_stack.harness import ProcessCluster
from pingan_stack.testing import bearer, eventually

ZONE = ZoneInfo("Asia/Shanghai")
SCALE = 86400 / 8  # a day in 8 seconds


async def test_an_overdue_211_task_escalates_and_inspection_records_accountability(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    clock = cluster.compressed_clock(SCALE)
    inspection = cluster.start("inspection", await database_factory())
    alerts = cluster.start("alerts", await database_factory())

    def auth(role: Role, subject: str, **claims: Any) -> dict[str, str]:
        return bearer(role, subject, issued_at=clock.now(), ttl=timedelta(days=60), **claims)

    inspector = auth(Role.INSPECTOR, "暗访组-王")
    supervisor = auth(Role.SUPERVISOR, "市委政法委督查室")

    async with httpx.AsyncClient(timeout=30) as http:
        async def ok(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> Any:
            response = await http.request(method, url, headers=headers, **kwargs)
            assert response.status_code in (200, 201), f"{method} {url}: {response.status_code} {response.text}"
            return response.json()

        await ok("POST", f"{inspection.url}/v1/units", inspector,
                 json={"id": "TX", "name": "塘下镇", "kind": "township", "contact": "王主任"})
        # the cycle starts at the next local midnight (at most 8 s away): its covert day, then its rectification day
        start = (clock.now().astimezone(ZONE) + timedelta(days=1)).date()
        cycle = await ok("POST", f"{inspection.url}/v1/cycles", inspector, json={
            "name": "2026年第1期", "start_date": start.isoformat(), "covert_days": 1, "rectification_days": 1,
            "unit_ids": ["TX"]})
        starts_at = datetime.combine(start, time(0), ZONE)

        async def started() -> bool:
            return clock.now() >= starts_at + timedelta(minutes=30)

        await eventually(started, timeout=20, interval=0.05, what="the covert phase to start")
        await ok("POST", f"{inspection.url}/v1/findings", inspector, json={
            "cycle_id": cycle["id"], "township_unit_id": "TX", "category": "fire", "severity": "high",
            "place": "塘川街道88号", "description": "消防通道堵塞", "evidence": ["photo:2026-001"]})

        # released at the end of the covert day, overdue at the end of the rectification day
        async def overdue_task() -> dict[str, Any] | None:
            page = await ok("GET", f"{inspection.url}/v1/tasks", supervisor, params={"overdue": "true"})
            return page["items"][0] if page["items"] else None

        async def is_overdue() -> bool:
            return await overdue_task() is not None

        await eventually(is_overdue, timeout=30, interval=0.2, what="the task to fall overdue")
        task = await overdue_task()
        assert task is not None
        key = f"inspection:task:{task['id']}:overdue"

        async def alert() -> dict[str, Any] | None:
            page = await ok("GET", f"{alerts.url}/v1/alerts", supervisor)
            return next((a for a in page["items"] if a["dedup_key"] == key), None)

        async def accountability() -> list[str]:
            shown = await ok("GET", f"{inspection.url}/v1/tasks/{task['id']}", supervisor)
            return [record["label"] for record in shown["accountability"]]

        async def climbed_to_notice() -> bool:
            return (await accountability())[:2] == ["逾期提醒", "通报"]

        # a day (8 s) after the overdue signal the township supervisor is given a circulated notice (通报)
        await eventually(climbed_to_notice, timeout=30, interval=0.2, what="accountability 逾期提醒 then 通报")
        raised = await alert()
        assert raised is not None
        assert raised["policy"]["id"] == "builtin:inspection.task-overdue"
        assert raised["unit_id"] == "TX" and raised["current_step"] >= 1
        assert raised["policy"]["steps"][1]["targets"] == ["role:township-supervisor:TX"]
        labels = await accountability()
        assert len(labels) == len(set(labels)), f"a step recorded twice: {labels}"
