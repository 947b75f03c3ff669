"""patrol.hazard-reported → a 24-hour task, over the real broker into the running service: a redelivered
event, a re-sent report (same hazard id, new event id) and a reordered pair of reports of one hazard change
nothing beyond the first application; a report without a known unit waits in triage for an inspector."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from inspection.bootstrap import bootstrap
from inspection.settings import InspectionSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import HAZARD_REPORTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.patrol_contracts import HazardReportedV1
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, eventually, read_topic, running_service, scrape

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@dataclass
class Harness:
    service: Service
    client: httpx.AsyncClient
    clock: FixedClock
    platform: PlatformSettings
    patrol: EventFactory

    def as_(self, role: Role, subject: str = "tester", unit: str | None = None) -> dict[str, str]:
        return bearer(role, subject, unit=unit, issued_at=self.clock.now())

    def report(self, hazard_id: str, *, unit_id: str | None, place: str, hours_ago: float,
               description: str = "消防通道堵塞") -> tuple[str, Envelope]:
        payload = HazardReportedV1(
            hazard_id=hazard_id, team_id="一队", member_id="张三", category="fire", description=description,
            place=place, photo_refs=[f"photo://{hazard_id}"], unit_id=unit_id,
            reported_at=NOW - timedelta(hours=hours_ago), received_at=NOW,
        )
        return self.patrol.make(HAZARD_REPORTED, payload, key=hazard_id)

    async def send(self, items: list[tuple[str, Envelope]]) -> None:
        producer = build_producer(self.platform.kafka_bootstrap_servers, client_id="test-patrol")
        await producer.start()
        try:
            for topic, envelope in items:
                await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
        finally:
            await producer.stop()

    async def tasks(self, **params: str) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/tasks", params=params, headers=self.as_(Role.INSPECTOR))
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def handled(self, count: int) -> None:
        async def done() -> bool:
            async with self.service.runtime.connection() as conn:
                return await conn.fetchval(
                    "SELECT count(*) FROM inbox WHERE consumer_group LIKE '%inspection.hazards'") >= count

        await eventually(done, what=f"{count} hazard events handled")


@pytest.fixture
async def harness(database_url: str, platform_settings: PlatformSettings) -> AsyncIterator[Harness]:
    clock = FixedClock(NOW)
    service = bootstrap(platform=platform_settings, clock=clock,
                        settings=InspectionSettings(database_url=database_url))
    async with running_service(service) as client:
        h = Harness(service, client, clock, platform_settings,
                    EventFactory("patrol", clock, platform_settings.kafka_topic_prefix))
        for unit_id, name in (("AY", "安阳街道"), ("YH", "玉海街道")):
            response = await client.post("/v1/units", json={"id": unit_id, "name": name, "kind": "township"},
                                         headers=h.as_(Role.ADMIN))
            assert response.status_code == 201, response.text
        yield h


async def test_redelivered_resent_and_reordered_reports_make_one_task_due_24h_after_the_first_sighting(
    harness: Harness,
) -> None:
    first = harness.report("H-1", unit_id="AY", place="万松路12号", hours_ago=2)
    resent = harness.report("H-1", unit_id="AY", place="万松路12号", hours_ago=2, description="重发")
    earlier = harness.report("H-2", unit_id="AY", place="万松路 12号", hours_ago=5)  # same place, other spacing
    # the same pair for YH, in the other order
    yh_later = harness.report("H-3", unit_id="YH", place="玉海楼", hours_ago=2)
    yh_earlier = harness.report("H-4", unit_id="YH", place="玉海楼", hours_ago=5)
    await harness.send([first, first, resent, earlier, first, yh_earlier, yh_later, yh_earlier])
    await harness.handled(5)  # distinct event ids: first, resent, earlier, yh_earlier, yh_later
    group = f"{harness.platform.kafka_topic_prefix}inspection.hazards"
    duplicates = (f'pingan_events_consumed_total{{group="{group}",outcome="duplicate",'
                  f'type="patrol.hazard-reported"}} 3.0')

    async def redeliveries_dropped() -> bool:
        return duplicates in await scrape(harness.service)

    await eventually(redeliveries_dropped, what="the three redeliveries seen and dropped by the inbox")

    async def settled() -> bool:
        return len(await harness.tasks()) == 2

    await eventually(settled, what="one task per unit")
    tasks = {t["unit_id"]: t for t in await harness.tasks()}
    for unit_id in ("AY", "YH"):
        task = tasks[unit_id]
        assert (task["origin"], task["status"], task["notice_id"]) == ("hazard", "open", None)
        assert datetime.fromisoformat(task["deadline"]) == NOW - timedelta(hours=5) + timedelta(hours=24)
    timeline = await harness.client.get(f"/v1/tasks/{tasks['AY']['id']}/timeline", headers=harness.as_(Role.INSPECTOR))
    assert [e["action"] for e in timeline.json()] == ["hazard-reported", "opened", "merged"]
    assert timeline.json()[2]["detail"]["hazard_id"] == "H-2"
    unit_view = await harness.client.get(f"/v1/tasks/{tasks['AY']['id']}/timeline",
                                         headers=harness.as_(Role.UNIT, "ay", unit="AY"))
    assert {e["actor"] for e in unit_view.json()} == {"patrol"} and "张三" not in unit_view.text

    async with harness.service.runtime.connection() as conn:
        timers = await conn.fetch("SELECT timer_key, due_at FROM timers WHERE kind = 'task-deadline'")
    assert {r["timer_key"]: r["due_at"] for r in timers} == {
        t["id"]: NOW + timedelta(hours=19) for t in tasks.values()}

    records = await read_topic(harness.platform.kafka_bootstrap_servers,
                               harness.platform.topic("inspection.tasks"), expected=2)
    opened = [json.loads(r.value) for r in records]
    assert sorted(e["payload"]["unit_id"] for e in opened if e["type"] == "inspection.task-opened") == ["AY", "YH"]

    harness.clock.advance(timedelta(hours=19, seconds=1))
    async def overdue() -> bool:
        return len(await harness.tasks(overdue="true")) == 2

    await eventually(overdue, what="both hazard tasks overdue at 24 h")


async def test_an_unknown_or_absent_unit_waits_in_triage_until_an_inspector_assigns_it(harness: Harness) -> None:
    await harness.send([harness.report("H-9", unit_id="不存在的单位", place="东山路", hours_ago=1),
                        harness.report("H-10", unit_id=None, place="", hours_ago=1)])

    async def two() -> bool:
        return len(await harness.tasks(status="triage")) == 2

    await eventually(two, what="two triage tasks")
    triage = await harness.tasks(status="triage")
    assert all(t["unit_id"] is None for t in triage)
    ay = harness.as_(Role.UNIT, "ay", unit="AY")
    assert (await harness.client.get("/v1/tasks", headers=ay)).json()["items"] == []

    task_id = triage[0]["id"]
    inspector = harness.as_(Role.INSPECTOR, "王督查")
    unknown = await harness.client.post(f"/v1/tasks/{task_id}/assignment", json={"unit_id": "NOPE"}, headers=inspector)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "unit_id"
    assert (await harness.client.post(f"/v1/tasks/{task_id}/assignment", json={"unit_id": "AY"},
                                      headers=ay)).status_code == 403
    assigned = await harness.client.post(f"/v1/tasks/{task_id}/assignment", json={"unit_id": "AY"}, headers=inspector)
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["unit_id"], assigned.json()["status"]) == ("AY", "open")
    again = await harness.client.post(f"/v1/tasks/{task_id}/assignment", json={"unit_id": "YH"}, headers=inspector)
    assert again.status_code == 409
    mine = (await harness.client.get("/v1/tasks", headers=ay)).json()["items"]
    assert [t["id"] for t in mine] == [task_id]

    records = await read_topic(harness.platform.kafka_bootstrap_servers,
                               harness.platform.topic("inspection.tasks"), expected=1)
    opened = [json.loads(r.value) for r in records]
    assert [(e["payload"]["task_id"], e["payload"]["unit_id"]) for e in opened] == [(task_id, "AY")]


async def test_a_unit_the_directory_does_not_hold_is_triaged_and_refused_back_to_patrol(harness: Harness) -> None:
    """The patrol's organiser can fix a unit named wrong: inspection triages the hazard all the same and answers
    inspection.hazard-refused (key = hazard id) naming the field, the value and why, Chinese first. A unit named by
    its organisation's name is that unit; a government inspection has not registered is inspection's to fix
    (triage, no refusal); a redelivered or re-sent refused report is answered once."""
    unknown = harness.report("H-20", unit_id="不存在的单位", place="东山路", hours_ago=1)
    reports = [unknown, harness.report("H-21", unit_id="PS-AY", place="安阳派出所门口", hours_ago=1),
               harness.report("H-22", unit_id="安阳街道", place="万松路3号", hours_ago=1),
               harness.report("H-23", unit_id="安阳街道办事处", place="万松路5号", hours_ago=1),
               harness.report("H-24", unit_id="TX", place="塘下菜场", hours_ago=1),
               harness.report("H-25", unit_id=None, place="飞云江边", hours_ago=1)]
    await harness.send([*reports, unknown, harness.report("H-20", unit_id="不存在的单位", place="东山路",
                                                          hours_ago=1, description="重发")])
    await harness.handled(7)  # six reports and the re-sent one (new event id); the redelivery is no new row

    async with harness.service.runtime.connection() as conn:
        rows = await conn.fetch("SELECT topic, value FROM outbox WHERE event_type = 'inspection.hazard-refused' "
                                "ORDER BY id")
    refusals = [{**json.loads(bytes(r["value"])), "topic": r["topic"]} for r in rows]
    assert len(await harness.tasks()) == 6
    assert sorted((r["key"], r["topic"]) for r in refusals) == [  # hazards on other partitions: in any order
        (h, harness.platform.topic("inspection.hazard-answers")) for h in ("H-20", "H-21", "H-22")]
    problems = {r["key"]: r["payload"]["problems"] for r in refusals}
    assert {k: [(p["field"], p["value"]) for p in v] for k, v in problems.items()} == {
        "H-20": [("unit_id", "不存在的单位")], "H-21": [("unit_id", "PS-AY")], "H-22": [("unit_id", "安阳街道")]}
    assert problems["H-21"][0]["reason"].startswith("“PS-AY”是派出所")
    assert problems["H-22"][0]["reason"].startswith("“安阳街道”是镇街")
    assert all(not p[0]["reason"].isascii() for p in problems.values())
    triage = {t["id"] for t in await harness.tasks(status="triage")}
    assert {r["payload"]["task_id"] for r in refusals} <= triage and len(triage) == 5
    ay = [t for t in await harness.tasks() if t["unit_id"] == "AY"]
    assert [t["place"] for t in ay] == ["万松路5号"]  # 安阳街道办事处 is AY's organisation: AY's task

    records = await read_topic(harness.platform.kafka_bootstrap_servers,
                               harness.platform.topic("inspection.hazard-answers"), expected=3)
    assert sorted(json.loads(r.value)["key"] for r in records) == ["H-20", "H-21", "H-22"]
