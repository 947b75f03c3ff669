"""alerts lifecycle → accountability on the task, over the real broker into the running service. Every
escalation step is recorded once whatever the order and however often it arrives; the alert's state follows the
per-key sequence (step 2 before step 1 leaves step 2's state; a resolved that overtook an escalation stays
resolved). A key naming an unknown task is dead-lettered; another source's key is ignored."""

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
from pingan_shared.events.alert_contracts import (
    AlertAcknowledgedV1,
    AlertEscalatedV1,
    AlertRaisedV1,
    AlertResolvedV1,
    Severity,
    SourceLink,
)
from pingan_shared.events.catalog import ALERT_ACKNOWLEDGED, ALERT_ESCALATED, ALERT_RAISED, ALERT_RESOLVED
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, eventually, read_topic, running_service, scrape

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
LADDER = ["通报", "挂牌督办", "约谈", "问责"]


@dataclass
class Harness:
    service: Service
    client: httpx.AsyncClient
    clock: FixedClock
    platform: PlatformSettings
    alerts: EventFactory

    def as_(self, role: Role, subject: str = "tester", unit: str | None = None) -> dict[str, str]:
        return bearer(role, subject, unit=unit, issued_at=self.clock.now())

    async def task(self, unit_id: str) -> str:
        draft = TaskDraft(unit_id=unit_id, origin="finding", category="fire", severity="high",
                          hazard_key="fire:万松路12号", place="万松路12号", description="消防通道堵塞",
                          deadline=end_of_day(date(2026, 11, 16), SHANGHAI), day_basis=DayBasis.CALENDAR)
        async with self.service.runtime.connection() as conn, conn.transaction():
            opened = await open_task(conn, self.service.app.state.inspection, draft, now=self.clock.now(),
                                     actor="inspector:王督查")
        return opened.task_id

    def event(self, name: str, dedup_key: str, sequence: int | None, **fields: Any) -> tuple[str, Envelope]:
        common: dict[str, Any] = {
            "alert_id": f"A-{dedup_key}", "dedup_key": dedup_key, "kind": "inspection.task-overdue", "unit_id": "AY",
            "source": SourceLink(service="inspection", entity_type="task", entity_id=dedup_key.split(":")[-2]),
            "at": NOW + timedelta(minutes=sequence or 0),
        }
        model = {ALERT_RAISED: AlertRaisedV1, ALERT_ESCALATED: AlertEscalatedV1,
                 ALERT_ACKNOWLEDGED: AlertAcknowledgedV1, ALERT_RESOLVED: AlertResolvedV1}[name]
        topic, envelope = self.alerts.make(name, model(**common, **fields), key=dedup_key)
        return topic, envelope.model_copy(update={"sequence": sequence})

    async def send(self, items: list[tuple[str, Envelope]]) -> None:
        producer = build_producer(self.platform.kafka_bootstrap_servers, client_id="test-alerts")
        await producer.start()
        try:
            for topic, envelope in items:
                await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
        finally:
            await producer.stop()

    async def consumed(self, outcome: str, count: int) -> None:
        async def done() -> bool:
            async with self.service.runtime.connection() as conn:
                return await conn.fetchval(
                    "SELECT count(*) FROM inbox WHERE consumer_group LIKE '%inspection.accountability' "
                    "AND outcome = $1", outcome) >= count

        await eventually(done, what=f"{count} alert events {outcome}")


@pytest.fixture
async def harness(database_url: str, platform_settings: PlatformSettings) -> AsyncIterator[Harness]:
    clock = FixedClock(NOW)
    service = bootstrap(platform=platform_settings, clock=clock,
                        settings=InspectionSettings(database_url=database_url))
    async with running_service(service) as client:
        h = Harness(service, client, clock, platform_settings,
                    EventFactory("alerts", clock, platform_settings.kafka_topic_prefix))
        response = await client.post("/v1/units", json={"id": "AY", "name": "安阳街道", "kind": "township"},
                                     headers=h.as_(Role.ADMIN))
        assert response.status_code == 201, response.text
        yield h


def escalation(h: Harness, key: str, step: int, sequence: int, loop: int = 0) -> tuple[str, Envelope]:
    return h.event(ALERT_ESCALATED, key, sequence, step=step, label=LADDER[step], loop=loop, targets=["安阳街道"])


async def test_steps_recorded_once_in_any_order_and_the_newest_state_wins(harness: Harness) -> None:
    task_id = await harness.task("AY")
    key = f"inspection:task:{task_id}:overdue"
    raised = harness.event(ALERT_RAISED, key, 1, severity=Severity.HIGH, summary="逾期", policy="211")
    step0, step1, step2 = escalation(harness, key, 0, 2), escalation(harness, key, 1, 3), escalation(harness, key, 2, 5)
    acknowledged = harness.event(ALERT_ACKNOWLEDGED, key, 4, by="安阳街道-张")
    resolved = harness.event(ALERT_RESOLVED, key, 6, by=None, reason="整改已核实")
    # step 2 before step 1 before step 0, a duplicate of each, the resolve overtaking the last escalation
    await harness.send([raised, step1, step0, step1, acknowledged, resolved, step2, step0, step2, raised])
    await harness.consumed("handled", 6)

    group = f"{harness.platform.kafka_topic_prefix}inspection.accountability"
    duplicate = f'pingan_events_consumed_total{{group="{group}",outcome="duplicate",type="%s"}} %s'

    async def redeliveries_dropped() -> bool:
        metrics = await scrape(harness.service)
        return duplicate % ("alerts.alert-escalated", "3.0") in metrics and \
            duplicate % ("alerts.alert-raised", "1.0") in metrics

    await eventually(redeliveries_dropped, what="the four redeliveries dropped")
    seen = await harness.client.get(f"/v1/tasks/{task_id}", headers=harness.as_(Role.UNIT, "ay", unit="AY"))
    assert seen.status_code == 200
    task = seen.json()
    assert [(r["step"], r["label"], r["loop"]) for r in task["accountability"]] == [
        (0, "通报", 0), (1, "挂牌督办", 0), (2, "约谈", 0)]
    assert task["alert_status"] == "resolved"  # the late escalation (sequence 5 < 6) did not reopen it

    async with harness.service.runtime.connection() as conn:
        state = await conn.fetchrow("SELECT status, label, last_sequence FROM task_alerts WHERE dedup_key = $1", key)
        assert (state["status"], state["last_sequence"]) == ("resolved", 6)
        count = await conn.fetchval("SELECT count(*) FROM accountability WHERE task_id = $1", task_id)
        assert count == 3
    timeline = (await harness.client.get(f"/v1/tasks/{task_id}/timeline", headers=harness.as_(Role.SUPERVISOR))).json()
    actions = [e["action"] for e in timeline]
    assert actions.count("accountability") == 3 and actions.count("alert-raised") == 1


async def test_an_older_escalation_after_a_newer_one_keeps_the_newer_state(harness: Harness) -> None:
    task_id = await harness.task("AY")
    key = f"inspection:task:{task_id}:overdue"
    await harness.send([escalation(harness, key, 1, 3), escalation(harness, key, 0, 2)])
    await harness.consumed("handled", 2)
    async with harness.service.runtime.connection() as conn:
        state = await conn.fetchrow("SELECT status, label, last_sequence FROM task_alerts WHERE dedup_key = $1", key)
    assert (state["status"], state["label"], state["last_sequence"]) == ("escalated", "挂牌督办", 3)


async def test_unknown_task_is_dead_lettered_and_another_sources_alert_ignored(harness: Harness) -> None:
    unknown = escalation(harness, "inspection:task:T-nope:overdue", 0, 1)
    foreign = escalation(harness, "patrol:round:R-1:missed", 0, 1)
    await harness.send([unknown, foreign])
    await harness.consumed("dead-lettered", 1)
    records = await read_topic(harness.platform.kafka_bootstrap_servers,
                               harness.platform.topic("deadletter.inspection"), expected=1)
    letter = json.loads(records[0].value)
    assert "T-nope" in json.dumps(letter, ensure_ascii=False)
    async with harness.service.runtime.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM accountability") == 0
        assert await conn.fetchval("SELECT count(*) FROM task_alerts") == 0

    async def foreign_done() -> bool:
        async with harness.service.runtime.connection() as conn:
            return await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer_group LIKE '%inspection.accountability'") == 2

    await eventually(foreign_done, what="the foreign alert consumed too")
