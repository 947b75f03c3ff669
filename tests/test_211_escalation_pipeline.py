"""211 end to end across processes: a task not rectified by its deadline → inspection's overdue signal → the
alerts service raises an alert on the built-in 211 ladder and climbs it → inspection records each step as
accountability on the task (逾期提醒, then 通报 a day later). inspection and alerts run as their own processes
and databases on one broker, both on a clock compressed to 8 s a day, so the 2-day cycle (1 covert day, 1 of
rectification) and the next step take about half a minute.

On the way, an attacker tries every door to false accountability (DESIGN.md §3, provenance): an integration
token forging inspection's overdue trigger or resolving its genuine alert over HTTP, raw records on the broker
speaking for inspection from another source's topic (or claiming inspection's name there), and a forged 问责
escalation on the alerts topic from another producer. Each is refused (422/403, or a dead letter naming why), no
alert is raised early, the genuine ladder is not stopped, and no false accountability appears on the task."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import Clock
from pingan_shared.events.alert_contracts import AlertEscalatedV1, AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_ESCALATED, ALERT_SIGNAL, TOPIC_ALERTS, signal_topic
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.messaging.kafka import build_producer
from pingan_stack.harness import ProcessCluster
from pingan_stack.testing import bearer, eventually, read_everything

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Shanghai")
SCALE = 86400 / 8  # a day in 8 seconds


async def test_an_overdue_211_task_escalates_and_inspection_records_accountability(
    cluster: ProcessCluster, database_factory: Callable[..., Awaitable[str]]
) -> None:
    clock = cluster.compressed_clock(SCALE)
    # inspection's units are organisations of the directory: its copy starts with the test city (TX among them)
    inspection = cluster.start("inspection", await database_factory(template="inspection+directory"))
    alerts = cluster.start("alerts", await database_factory())

    def auth(role: Role, subject: str, **claims: Any) -> dict[str, str]:
        return bearer(role, subject, issued_at=clock.now(), ttl=timedelta(days=60), **claims)

    inspector = auth(Role.INSPECTOR, "暗访组-王")
    supervisor = auth(Role.SUPERVISOR, "市委政法委督查室")
    grid = auth(Role.INTEGRATION, "grid")  # an outside system: its namespace is grid

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

        async def released_task() -> dict[str, Any] | None:
            page = await ok("GET", f"{inspection.url}/v1/tasks", supervisor)
            return page["items"][0] if page["items"] else None

        async def is_released() -> bool:
            return await released_task() is not None

        await eventually(is_released, timeout=30, interval=0.1, what="the finding's release to the unit")
        released = await released_task()
        assert released is not None and not released.get("overdue")
        key = f"inspection:task:{released['id']}:overdue"
        forged = await forge_overdue(http, alerts.url, grid, cluster, clock, key)

        await eventually(is_overdue, timeout=30, interval=0.2, what="the task to fall overdue")
        task = await overdue_task()
        assert task is not None and task["id"] == released["id"]

        async def alert() -> dict[str, Any] | None:
            page = await ok("GET", f"{alerts.url}/v1/alerts", supervisor)
            return next((a for a in page["items"] if a["dedup_key"] == key), None)

        async def accountability() -> list[str]:
            shown = await ok("GET", f"{inspection.url}/v1/tasks/{task['id']}", supervisor)
            return [record["label"] for record in shown["accountability"]]

        async def climbed_to_notice() -> bool:
            return (await accountability())[:2] == ["逾期提醒", "通报"]

        async def raised_alert() -> bool:
            return await alert() is not None

        await eventually(raised_alert, timeout=30, interval=0.1, what="the genuine overdue alert")
        forged += await forge_resolve(http, alerts.url, grid, cluster, clock, key)

        # a day (8 s) after the overdue signal the township supervisor is given a circulated notice (通报)
        await eventually(climbed_to_notice, timeout=30, interval=0.2, what="accountability 逾期提醒 then 通报")
        raised = await alert()
        assert raised is not None
        assert raised["status"] != "resolved", "a foreign resolve stopped the genuine ladder"
        timeline = await ok("GET", f"{alerts.url}/v1/alerts/{raised['id']}/timeline", supervisor)
        first = timeline[0]
        assert first["detail"]["source"] == "inspection" and first["detail"]["producer"] == "inspection"
        assert raised["policy"]["id"] == "builtin:inspection.task-overdue"
        assert raised["unit_id"] == "TX" and raised["current_step"] >= 1
        assert raised["policy"]["steps"][1]["targets"] == ["role:township-supervisor:TX"]
        labels = await accountability()
        assert len(labels) == len(set(labels)), f"a step recorded twice: {labels}"
        assert "问责" not in labels, f"a forged escalation was recorded as accountability: {labels}"

        # every forged record on the broker is a dead letter naming why, in the consumer it was meant to fool
        letters = {
            letter["payload"]["source_event_id"]: letter["payload"]["reason"]
            for topic in (f"{cluster.topic_prefix}deadletter.alerts", f"{cluster.topic_prefix}deadletter.inspection")
            for letter in await read_everything(cluster.kafka_bootstrap_servers, topic, at_least=0, settle=1)}
        for event_id, why in forged:
            assert why in letters.get(event_id, ""), f"forged {event_id} not dead-lettered for {why!r}: {letters}"


def _signal(action: SignalAction, key: str, clock: Clock) -> AlertSignalV1:
    return AlertSignalV1(action=action, dedup_key=key, kind="inspection.task-overdue", severity=Severity.HIGH,
                         unit_id="TX", area="塘下镇", summary="伪造的逾期告警",
                         source=SourceLink(service="inspection", entity_type="task", entity_id=key),
                         occurred_at=clock.now())


async def _send_raw(cluster: ProcessCluster, records: list[tuple[str, Envelope]]) -> None:
    producer = build_producer(cluster.kafka_bootstrap_servers, client_id="attacker")
    await producer.start()
    try:
        for topic, envelope in records:
            await (await producer.send(f"{cluster.topic_prefix}{topic}", value=envelope.to_bytes(),
                                       key=envelope.key.encode()))
    finally:
        await producer.stop()


async def _refused(http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any],
                   status: int, field: str) -> None:
    response = await http.post(f"{url}/v1/events", headers=headers, json=body)
    assert response.status_code == status, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field], response.text


async def forge_overdue(http: httpx.AsyncClient, alerts_url: str, grid: dict[str, str], cluster: ProcessCluster,
                        clock: Clock, key: str) -> list[tuple[str, str]]:
    """Before the task is overdue: raise its overdue alert every way an outsider can. Returns (event id, reason)
    of each forged broker record, for the dead-letter check."""
    body = {"action": "trigger", "dedup_key": key, "kind": "inspection.task-overdue", "severity": "high",
            "unit_id": "TX", "summary": "伪造", "occurred_at": clock.now().isoformat(), "sequence": 1,
            "source": {"service": "inspection", "entity_type": "task", "entity_id": key}}
    await _refused(http, alerts_url, grid, body, 422, "body.dedup_key")
    await _refused(http, alerts_url, grid, {**body, "dedup_key": "grid:event:1"}, 422, "body.kind")
    for name in ("inspection", "alerts"):  # no token speaks for a platform service
        await _refused(http, alerts_url, bearer(Role.INTEGRATION, name, issued_at=clock.now()), body, 403,
                       "Authorization")
    trigger = _signal(SignalAction.TRIGGER, key, clock)
    _, from_patrol = EventFactory("patrol", clock).make(ALERT_SIGNAL, trigger, key=key)
    _, impostor = EventFactory("inspection", clock).make(ALERT_SIGNAL, trigger, key=key)
    escalated = AlertEscalatedV1(alert_id="forged", dedup_key=key, kind="inspection.task-overdue", unit_id="TX",
                                 source=trigger.source, at=clock.now(), step=4, label="问责", targets=["unit:TX"])
    _, rogue = EventFactory("rogue", clock).make(ALERT_ESCALATED, escalated, key=key)
    await _send_raw(cluster, [(signal_topic("patrol"), from_patrol), (signal_topic("patrol"), impostor),
                              (TOPIC_ALERTS, rogue)])
    return [(str(from_patrol.event_id), "dedup_key"), (str(impostor.event_id), "patrol.alert-signals"),
            (str(rogue.event_id), "rogue")]


async def forge_resolve(http: httpx.AsyncClient, alerts_url: str, grid: dict[str, str], cluster: ProcessCluster,
                        clock: Clock, key: str) -> list[tuple[str, str]]:
    """Once the genuine alert is open: close it every way an outsider can (any kind)."""
    for kind in ("inspection.task-overdue", "grid.event-timeout"):
        await _refused(http, alerts_url, grid, {
            "action": "resolve", "dedup_key": key, "kind": kind, "summary": "伪造恢复",
            "occurred_at": clock.now().isoformat(), "sequence": 99,
            "source": {"service": "grid", "entity_type": "event", "entity_id": "1"}}, 422, "body.dedup_key")
    resolve = _signal(SignalAction.RESOLVE, key, clock)
    _, from_patrol = EventFactory("patrol", clock).make(ALERT_SIGNAL, resolve, key=key)
    await _send_raw(cluster, [(signal_topic("patrol"), from_patrol.model_copy(update={"sequence": 99}))])
    return [(str(from_patrol.event_id), "dedup_key")]
