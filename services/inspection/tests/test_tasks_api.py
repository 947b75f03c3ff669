"""Rectification tasks over the real database and broker with a controlled clock: who may read which task,
rectification with evidence, revisits (rejected returns the task with its deadline; verified closes it and
its notice), listed supervision (挂牌督办) with its own deadline, and overdue exactly once per unverified task,
also across a restart spanning the deadline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from inspection.bootstrap import bootstrap
from inspection.domain.calendar import DayBasis
from inspection.domain.cycles import end_of_day
from inspection.opening import TaskDraft, open_task
from inspection.settings import InspectionSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, eventually, read_topic, running_service

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Ruian
UNITS = [("AY", "安阳街道", "township"), ("YH", "玉海街道", "township"), ("XF", "市消防救援大队", "department")]


@dataclass
class Harness:
    service: Service
    client: httpx.AsyncClient
    clock: FixedClock
    platform: PlatformSettings

    def as_(self, role: Role, subject: str = "tester", unit: str | None = None) -> dict[str, str]:
        return bearer(role, subject, unit=unit, issued_at=self.clock.now())

    async def open(self, unit_id: str | None, place: str, *, deadline: datetime, basis: DayBasis = DayBasis.CALENDAR,
                   notice: bool = True, severity: str = "medium") -> str:
        ctx = self.service.app.state.inspection
        draft = TaskDraft(unit_id=unit_id, origin="finding", category="fire", severity=severity,
                          hazard_key=f"fire:{place}", place=place, description=f"{place} 消防通道堵塞",
                          deadline=deadline, day_basis=basis, evidence=["photo://1"])
        async with self.service.runtime.connection() as conn, conn.transaction():
            opened = await open_task(conn, ctx, draft, now=self.clock.now(), actor="inspector:王督查", notice=notice)
        return opened.task_id

    async def get(self, task_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/tasks/{task_id}", headers=self.as_(Role.INSPECTOR))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def start(database_url: str, platform: PlatformSettings, clock: FixedClock) -> Service:
    settings = InspectionSettings(database_url=database_url)
    return bootstrap(platform=platform, settings=settings, clock=clock)


@pytest.fixture
async def harness(database_url: str, platform_settings: PlatformSettings) -> AsyncIterator[Harness]:
    clock = FixedClock(START)
    service = await start(database_url, platform_settings, clock)
    async with running_service(service) as client:
        h = Harness(service, client, clock, platform_settings)
        for unit_id, name, kind in UNITS:
            response = await client.post("/v1/units", json={"id": unit_id, "name": name, "kind": kind},
                                         headers=h.as_(Role.ADMIN))
            assert response.status_code == 201, response.text
        yield h


async def drained(service: Service) -> None:
    async def empty() -> bool:
        async with service.runtime.connection() as conn:
            return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

    await eventually(empty, what="the outbox to drain")


async def events(platform: PlatformSettings, topic: str, expected: int) -> list[dict[str, Any]]:
    records = await read_topic(platform.kafka_bootstrap_servers, platform.topic(topic), expected=expected)
    return [json.loads(r.value) for r in records]


def of_type(found: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e for e in found if e["type"] == event_type]


async def test_a_unit_reads_only_its_own_tasks_and_another_units_look_like_nothing(harness: Harness) -> None:
    due = end_of_day(date(2026, 11, 16), SHANGHAI)
    mine = [await harness.open("AY", "万松路12号", deadline=due), await harness.open("AY", "安阳菜场", deadline=due)]
    theirs = await harness.open("YH", "玉海楼", deadline=due)
    triage = await harness.open(None, "无主隐患", deadline=due)
    ay = harness.as_(Role.UNIT, "安阳街道-张", unit="AY")

    listed = await harness.client.get("/v1/tasks", headers=ay)
    assert listed.status_code == 200
    assert sorted(t["id"] for t in listed.json()["items"]) == sorted(mine)
    assert all("recorded_by" not in t and "finding_id" not in t for t in listed.json()["items"])
    for params in ({"unit_id": "YH"}, {"unit_id": "YH", "status": "open"}, {"cycle_id": "x", "unit_id": "AY"},
                   {"after": sorted(mine)[-1]}, {"overdue": "true"}):
        page = await harness.client.get("/v1/tasks", params=params, headers=ay)
        assert page.json() == {"items": [], "next_after": None}, params
    paged = await harness.client.get("/v1/tasks", params={"limit": 1}, headers=ay)
    assert paged.json()["next_after"] == sorted(mine)[0] and len(paged.json()["items"]) == 1
    assert set(paged.json()) == {"items", "next_after"}  # no total: a count is an oracle

    unknown = await harness.client.get("/v1/tasks/T-doesnotexist", headers=ay)
    for other in (theirs, triage):
        for path in (f"/v1/tasks/{other}", f"/v1/tasks/{other}/timeline"):
            refused = await harness.client.get(path, headers=ay)
            assert (refused.status_code, refused.json()) == (404, unknown.json())
            assert unknown.json()["detail"] == "任务不存在"
            assert _headers(refused) == _headers(unknown)
        submit = await harness.client.post(f"/v1/tasks/{other}/rectifications",
                                           json={"text": "已整改", "evidence": ["photo://2"]}, headers=ay)
        assert (submit.status_code, submit.json()) == (404, unknown.json())

    for role in (Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN):
        everything = await harness.client.get("/v1/tasks", headers=harness.as_(role))
        assert {t["id"] for t in everything.json()["items"]} == {*mine, theirs, triage}
    assert (await harness.client.get(f"/v1/tasks/{theirs}", headers=harness.as_(Role.SUPERVISOR))).status_code == 200
    member = harness.as_(Role.SUPERVISION_MEMBER, "市民李")
    assert (await harness.client.get("/v1/tasks", headers=member)).status_code == 403
    assert (await harness.client.get(f"/v1/tasks/{mine[0]}", headers=member)).status_code == 403
    assert (await harness.client.get("/v1/tasks", params={"limit": 501}, headers=ay)).status_code == 422


async def test_rectify_with_evidence_revisit_rejected_then_verified_closes_the_notice(harness: Harness) -> None:
    due = end_of_day(date(2026, 11, 16), SHANGHAI)
    first = await harness.open("AY", "万松路12号", deadline=due)
    second = await harness.open("AY", "安阳菜场", deadline=due)
    ay = harness.as_(Role.UNIT, "安阳街道-张", unit="AY")
    inspector = harness.as_(Role.INSPECTOR, "王督查")
    notice_id = (await harness.get(first))["notice_id"]
    assert notice_id and (await harness.get(second))["notice_id"] == notice_id

    no_evidence = await harness.client.post(f"/v1/tasks/{first}/rectifications", json={"text": "已清理"}, headers=ay)
    assert no_evidence.status_code == 422 and no_evidence.json()["errors"][0]["field"] == "evidence"
    assert (await harness.client.post(f"/v1/tasks/{first}/rectifications", json={"text": "已清理", "evidence": []},
                                      headers=ay)).status_code == 422
    too_early = await harness.client.post(f"/v1/tasks/{first}/revisits", json={"outcome": "verified"},
                                          headers=inspector)
    assert too_early.status_code == 409
    body = {"text": "已清理通道", "evidence": ["photo://after-1"]}
    submitted = await harness.client.post(f"/v1/tasks/{first}/rectifications", json=body, headers=ay)
    assert submitted.status_code == 201 and submitted.json()["status"] == "submitted"
    again = await harness.client.post(f"/v1/tasks/{first}/rectifications", json=body, headers=ay)
    assert again.status_code == 409
    assert (await harness.client.post(f"/v1/tasks/{first}/revisits", json={"outcome": "verified"},
                                      headers=ay)).status_code == 403

    harness.clock.advance(timedelta(days=2))
    inspector = harness.as_(Role.INSPECTOR, "王督查")
    ay = harness.as_(Role.UNIT, "安阳街道-张", unit="AY")
    vague = await harness.client.post(f"/v1/tasks/{first}/revisits", json={"outcome": "rejected"}, headers=inspector)
    assert vague.status_code == 422 and vague.json()["errors"][0]["field"] == "remaining"
    rejected = await harness.client.post(f"/v1/tasks/{first}/revisits", headers=inspector, json={
        "outcome": "rejected", "remaining": "灭火器仍过期", "evidence": ["photo:revisit-1"]})
    assert rejected.status_code == 201, rejected.text
    timeline = (await harness.client.get(f"/v1/tasks/{first}/timeline", headers=inspector)).json()
    assert [e["detail"]["evidence"] for e in timeline if e["action"] == "revisit-rejected"] == [["photo:revisit-1"]]
    task = rejected.json()
    assert (task["status"], task["rejections"], datetime.fromisoformat(task["deadline"])) == ("open", 1, due)
    assert (await harness.client.post(f"/v1/tasks/{first}/rectifications", json=body, headers=ay)).status_code == 201
    verified = await harness.client.post(f"/v1/tasks/{first}/revisits", json={"outcome": "verified"},
                                         headers=inspector)
    assert verified.status_code == 201 and verified.json()["status"] == "verified"
    again = await harness.client.post(f"/v1/tasks/{first}/revisits", json={"outcome": "verified"}, headers=inspector)
    assert again.status_code == 409

    async def notice_status() -> str:
        async with harness.service.runtime.connection() as conn:
            status: str = await conn.fetchval("SELECT status FROM notices WHERE id = $1", notice_id)
            return status

    assert await notice_status() == "open"  # its other task is still open
    assert (await harness.client.post(f"/v1/tasks/{second}/rectifications", json=body, headers=ay)).status_code == 201
    assert (await harness.client.post(f"/v1/tasks/{second}/revisits", json={"outcome": "verified"},
                                      headers=inspector)).status_code == 201
    assert await notice_status() == "closed"

    # 全程留痕, and a unit learns roles only: never the inspector's name
    full = (await harness.client.get(f"/v1/tasks/{first}/timeline", headers=inspector)).json()
    actions = [e["action"] for e in full]
    assert actions == ["opened", "rectification-submitted", "revisit-rejected", "rectification-submitted",
                       "revisit-verified"]
    assert full[2]["detail"]["remaining"] == "灭火器仍过期" and full[2]["actor"] == "inspector:王督查"
    seen_by_unit = await harness.client.get(f"/v1/tasks/{first}/timeline", headers=ay)
    assert [e["actor"] for e in seen_by_unit.json()] == ["inspector", "unit", "inspector", "unit", "inspector"]
    assert "王督查" not in seen_by_unit.text

    await drained(harness.service)
    found = await events(harness.platform, "inspection.tasks", expected=4)
    verified_events = of_type(found, "inspection.task-verified")
    assert sorted(e["payload"]["task_id"] for e in verified_events) == sorted([first, second])
    assert all(e["payload"]["on_time"] and not e["payload"]["was_overdue"] for e in verified_events)


async def test_listing_sets_its_own_deadline_and_the_task_is_overdue_at_that_one(harness: Harness) -> None:
    cycle_due = end_of_day(date(2026, 11, 16), SHANGHAI)
    listed = await harness.open("AY", "锦湖小区", deadline=cycle_due)
    plain = await harness.open("YH", "玉海楼", deadline=cycle_due)
    inspector = harness.as_(Role.INSPECTOR, "王督查")

    for body, field in (({"note": "x"}, "deadline"), ({"deadline": "2026-12-01", "days": 3}, "deadline"),
                        ({"deadline": "2026-11-01"}, "deadline"), ({"days": -1}, "body.days")):
        refused = await harness.client.put(f"/v1/tasks/{listed}/listing", json=body, headers=inspector)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, (body, refused.text)
    assert (await harness.client.put(f"/v1/tasks/{listed}/listing", json={"deadline": "2027-01-02"},
                                     headers=harness.as_(Role.SUPERVISOR))).status_code == 403
    two_months = await harness.client.put(f"/v1/tasks/{listed}/listing",
                                          json={"deadline": "2027-01-02", "note": "挂牌督办：两个月"},
                                          headers=inspector)
    assert two_months.status_code == 200, two_months.text
    assert two_months.json()["listed"] and two_months.json()["listed_note"] == "挂牌督办：两个月"
    deadline = datetime.fromisoformat(two_months.json()["deadline"])
    assert deadline == datetime(2027, 1, 2, 16, 0, tzinfo=UTC)  # the end of 2 Jan in Ruian

    harness.clock.set(cycle_due + timedelta(minutes=1))
    await eventually(lambda: _overdue(harness, plain), what="the plain task overdue at the cycle's end")
    harness.clock.set(datetime(2027, 1, 2, 16, 0, 1, tzinfo=UTC))
    await eventually(lambda: _overdue(harness, listed), what="the listed task overdue at its own deadline")

    await drained(harness.service)
    overdue = of_type(await events(harness.platform, "inspection.tasks", expected=4), "inspection.task-overdue")
    assert sorted((e["payload"]["task_id"], e["payload"]["listed"]) for e in overdue) == sorted(
        [(listed, True), (plain, False)])
    signals = await events(harness.platform, "inspection.alert-signals", expected=2)
    by_task = {s["payload"]["source"]["entity_id"]: s["payload"] for s in signals}
    assert by_task[listed]["severity"] == "high" and by_task[plain]["severity"] == "medium"
    assert by_task[listed]["dedup_key"] == f"inspection:task:{listed}:overdue"
    assert by_task[listed]["summary"].startswith("安阳街道 整改任务逾期：消防安全 锦湖小区（〔2026〕")

    verified_task = await harness.open("XF", "消防站", deadline=end_of_day(date(2027, 2, 1), SHANGHAI))
    assert (await harness.client.post(f"/v1/tasks/{verified_task}/rectifications",
                                      json={"text": "ok", "evidence": ["p"]},
                                      headers=harness.as_(Role.UNIT, "xf", unit="XF"))).status_code == 201
    assert (await harness.client.post(f"/v1/tasks/{verified_task}/revisits", json={"outcome": "verified"},
                                      headers=harness.as_(Role.INSPECTOR))).status_code == 201
    late = await harness.client.put(f"/v1/tasks/{verified_task}/listing", json={"days": 10},
                                    headers=harness.as_(Role.INSPECTOR))
    assert late.status_code == 409


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "x-request-id"}


async def _overdue(harness: Harness, task_id: str) -> bool:
    return (await harness.get(task_id))["overdue_at"] is not None


async def test_overdue_once_per_unverified_task_across_a_restart_then_verification_resolves(
    database_url: str, platform_settings: PlatformSettings
) -> None:
    clock = FixedClock(START)
    due = end_of_day(date(2026, 11, 4), SHANGHAI)
    service = await start(database_url, platform_settings, clock)
    async with running_service(service) as client:
        h = Harness(service, client, clock, platform_settings)
        for unit_id, name, kind in UNITS:
            await client.post("/v1/units", json={"id": unit_id, "name": name, "kind": kind}, headers=h.as_(Role.ADMIN))
        late = [await h.open("AY", "万松路12号", deadline=due), await h.open("YH", "玉海楼", deadline=due)]
        done = await h.open("XF", "消防站", deadline=due)
        await client.post(f"/v1/tasks/{done}/rectifications", json={"text": "ok", "evidence": ["p"]},
                          headers=h.as_(Role.UNIT, "xf", unit="XF"))
        assert (await client.post(f"/v1/tasks/{done}/revisits", json={"outcome": "verified"},
                                  headers=h.as_(Role.INSPECTOR))).status_code == 201
        await drained(service)

    clock.set(due + timedelta(days=3))  # the service is down across the deadline
    for _ in range(2):  # and restarted twice: still once
        service = await start(database_url, platform_settings, clock)
        async with running_service(service) as client:
            h = Harness(service, client, clock, platform_settings)
            for task_id in late:
                await eventually(lambda t=task_id, h=h: _overdue(h, t), what="overdue after the restart")
            await drained(service)

    service = await start(database_url, platform_settings, clock)
    async with running_service(service) as client:
        h = Harness(service, client, clock, platform_settings)
        unit = h.as_(Role.UNIT, "ay", unit="AY")
        assert (await client.post(f"/v1/tasks/{late[0]}/rectifications", json={"text": "迟到的整改",
                                  "evidence": ["p"]}, headers=unit)).status_code == 201
        assert (await client.post(f"/v1/tasks/{late[0]}/revisits", json={"outcome": "verified"},
                                  headers=h.as_(Role.INSPECTOR))).status_code == 201
        overdue_only = await client.get("/v1/tasks", params={"overdue": "true"}, headers=h.as_(Role.SUPERVISOR))
        assert {t["id"] for t in overdue_only.json()["items"]} == set(late)
        await drained(h.service)

    found = await events(platform_settings, "inspection.tasks", expected=7)
    overdue = of_type(found, "inspection.task-overdue")
    assert sorted(e["payload"]["task_id"] for e in overdue) == sorted(late)  # once each, none for the verified
    verified = {e["payload"]["task_id"]: e["payload"] for e in of_type(found, "inspection.task-verified")}
    assert verified[late[0]]["was_overdue"] and not verified[late[0]]["on_time"]
    assert verified[done]["on_time"] and not verified[done]["was_overdue"]
    signals = await events(platform_settings, "inspection.alert-signals", expected=3)
    actions = sorted((s["payload"]["source"]["entity_id"], s["payload"]["action"]) for s in signals)
    assert actions == sorted([(late[0], "trigger"), (late[1], "trigger"), (late[0], "resolve")])
    keyed = [s for s in signals if s["payload"]["source"]["entity_id"] == late[0]]
    assert [s["sequence"] for s in sorted(keyed, key=lambda s: s["payload"]["action"] == "resolve")] == [1, 2]
