"""Every step exactly once: across a restart that spans its due time, across a handler that fails half-way, and
with two instances on one database; the auditor re-arms a step whose timer is gone and reports one whose timer
runner is stuck, within its bound; an alert whose policy leads nowhere is reported."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from pingan_shared.clock import FixedClock

from .escalation_harness import GRID_KIND, UNIT, Alerts, AlertsFactory, DeafClock

CITY = "role:city-office"
LADDER = [
    {"delay_seconds": 0, "targets": ["unit:{unit}"], "channels": ["inbox"], "label": "逾期提醒"},
    {"delay_seconds": 600, "targets": [CITY], "channels": ["inbox", "email"], "label": "通报"},
    {"delay_seconds": 600, "targets": [CITY], "channels": ["email"], "label": "挂牌督办"},
    {"delay_seconds": 600, "targets": [CITY], "channels": ["email"], "label": "约谈"},
]


async def setup(alerts: Alerts) -> None:
    await alerts.add_contacts(f"unit:{UNIT}", CITY)
    await alerts.create_policy(LADDER)


async def delivery_steps(alerts: Alerts, alert_id: str) -> list[tuple[int, str]]:
    async with alerts.db() as conn:
        rows = await conn.fetch("SELECT step_index, channel FROM deliveries WHERE alert_id = $1 ORDER BY step_index,"
                                " channel", alert_id)
    return [(r["step_index"], r["channel"]) for r in rows]


# a role has no inbox of its own (delivery reaches its members): step 1 goes by e-mail only
EVERY_STEP_ONCE = [(0, "inbox"), (1, "email"), (2, "email"), (3, "email")]


async def test_a_restart_spanning_the_due_times_fires_every_step_exactly_once(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await setup(alerts)
    key = "inspection:task:r-1:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)
    await alerts.stop()
    await alerts.advance(timedelta(hours=1))  # steps 1, 2 and 3 all fall due while the service is down
    await alerts.start()
    await alerts.wait_alert(key, step=3)
    await alerts.quiet()
    assert await alerts.steps_fired(alert["id"]) == [(0, 0), (1, 0), (2, 0), (3, 0)]
    assert await delivery_steps(alerts, alert["id"]) == EVERY_STEP_ONCE
    fired = [e["detail"] for e in await alerts.timeline(alert["id"], "step")]
    # each step counted from the due time of the one before, not from the late firing
    assert [f["due"] for f in fired] == [(alert["raised_at"] + timedelta(seconds=600 * i)).isoformat()
                                         for i in range(4)]


async def test_a_step_whose_handler_fails_half_way_fires_once_when_retried(
        alerts_service: Alerts, monkeypatch: pytest.MonkeyPatch) -> None:
    alerts = alerts_service
    await setup(alerts)
    key = "inspection:task:r-2:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)

    from alerts import escalation
    real = escalation.enqueue_notifications
    failures: list[int] = []

    async def crash_once(conn: Any, requests: Any) -> int:
        # the step's state, timeline and event are written by now: the crash must undo them all
        if not failures:
            failures.append(1)
            raise RuntimeError("process killed mid-step")
        return await real(conn, requests)

    monkeypatch.setattr(escalation, "enqueue_notifications", crash_once)
    await alerts.advance(timedelta(seconds=600))
    await alerts.until(lambda: _true(bool(failures)), "the failing attempt")
    await alerts.quiet()
    assert (await alerts.alert(alert["id"]))["current_step"] == 0, "half a step was kept"
    await alerts.advance(timedelta(seconds=5))  # the timer's retry backoff (2 s after one failure)
    await alerts.wait_alert(key, step=1)
    assert await alerts.steps_fired(alert["id"]) == [(0, 0), (1, 0)]
    assert [e["detail"]["step"] for e in await alerts.timeline(alert["id"], "step")] == [0, 1]


async def _true(value: bool) -> bool:
    return value


async def test_two_instances_on_one_database_never_double_fire_a_step(
        alerts_factory: AlertsFactory, escalation_clock: FixedClock) -> None:
    first = await alerts_factory(escalation_clock)
    second = await alerts_factory(escalation_clock, twin_of=first)
    await setup(first)
    keys = [f"inspection:task:d-{i}:overdue" for i in range(24)]
    await first.publish([first.signal_envelope("trigger", k, 1) for k in keys[:12]])
    await second.publish([second.signal_envelope("trigger", k, 1) for k in keys[12:]])
    ids = [(await first.wait_alert(k, step=0))["id"] for k in keys]
    await first.advance(timedelta(hours=1))
    for k in keys:
        await first.wait_alert(k, step=3)
    await first.quiet()
    for alert_id in ids:
        assert await first.steps_fired(alert_id) == [(0, 0), (1, 0), (2, 0), (3, 0)]
        assert await delivery_steps(first, alert_id) == EVERY_STEP_ONCE


async def test_the_auditor_rearms_a_step_whose_timer_is_gone(alerts_service: Alerts) -> None:
    alerts = alerts_service  # stall bound 30 s, auditor every 100 ms
    await setup(alerts)
    key = "inspection:task:a-1:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)
    async with alerts.db() as conn:
        await conn.execute("UPDATE timers SET status = 'cancelled' WHERE timer_key = $1", alert["id"])
    await alerts.advance(timedelta(seconds=600 + 29))
    await alerts.quiet()
    assert (await alerts.alert(alert["id"]))["current_step"] == 0  # stalled, but not yet past the bound
    await alerts.advance(timedelta(seconds=2))
    await alerts.wait_alert(key, step=1, timeout=5)
    assert [e["detail"]["timer"] for e in await alerts.timeline(alert["id"], "auditor-rearmed")] == ["cancelled"]
    assert await alerts.steps_fired(alert["id"]) == [(0, 0), (1, 0)]


def gauge(metrics: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


async def test_the_auditor_reports_a_step_stalled_behind_a_stuck_timer_runner(
        alerts_factory: AlertsFactory, escalation_clock: FixedClock) -> None:
    # the timer runner polls once at start and then sleeps for an hour, deaf to the clock moving: a stuck runner
    alerts = await alerts_factory(DeafClock(escalation_clock.now()), timer_poll_seconds=3600)
    await setup(alerts)
    key = "inspection:task:a-2:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)

    async def stalled() -> float:
        return gauge(await alerts.metrics(), "pingan_alerts_stalled")

    await alerts.advance(timedelta(seconds=600 + 29))
    await asyncio.sleep(0.5)
    assert await stalled() == 0
    await alerts.advance(timedelta(seconds=2))
    await alerts.until(lambda: _above(stalled, 0), "the stalled gauge", timeout=30)  # 5 s failed on a loaded CI box
    report = await alerts.ok("GET", "/v1/auditor", alerts.admin, expect=200)
    found = report["findings"]["stalled"]
    assert [(f["alert_id"], f["step"], f["timer"], f["action"]) for f in found] == [
        (alert["id"], 0, "pending", "reported")]
    assert found[0]["overdue_seconds"] >= 30


async def _above(read: Any, value: float) -> bool:
    return bool(await read() > value)


async def test_the_auditor_reports_an_alert_whose_policy_leads_nowhere(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await alerts.post_signal("trigger", "grid:event:e-1", 1, kind="grid.unknown-kind")
    alert = await alerts.wait_alert("grid:event:e-1")
    report = await alerts.ok("GET", "/v1/auditor", alerts.admin, expect=200)
    assert [(f["alert_id"], f["problems"]) for f in report["findings"]["leading_nowhere"]] == [
        (alert["id"], ["no steps"])]

    async def nowhere() -> float:
        return gauge(await alerts.metrics(), "pingan_alerts_leading_nowhere")

    await alerts.until(lambda: _above(nowhere, 0), "the leading-nowhere gauge", timeout=5)


async def test_the_auditor_reports_targets_the_directory_no_longer_reaches(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await alerts.add_contacts("person:值班员", "role:city-office")
    await alerts.create_policy([
        {"delay_seconds": 0, "targets": ["person:值班员"], "channels": ["email"], "label": "提醒"},
        {"delay_seconds": 3600, "targets": ["role:city-office", "person:值班员"], "channels": ["email"],
         "label": "约谈", "requires_all_acks": True, "ack_timeout_seconds": 3600},
    ], kind=GRID_KIND)
    await alerts.post_signal("trigger", "grid:event:e-2", 1)
    alert = await alerts.wait_alert("grid:event:e-2")

    async def unreachable() -> list[tuple[str, list[tuple[int, list[str]]]]]:
        report = await alerts.ok("GET", "/v1/auditor", alerts.admin, expect=200)
        return [(f["alert_id"], [(s["step"], s["targets"]) for s in f["steps"]])
                for f in report["findings"]["unreachable_targets"]]

    assert await unreachable() == []
    # the person leaves the directory after the ladder was frozen: both steps would now miss them
    await alerts.ok("DELETE", "/v1/contacts/person:值班员", alerts.admin, expect=(200, 204))
    assert await unreachable() == [(alert["id"], [(0, ["person:值班员"]), (1, ["person:值班员"])])]

    async def gauge_up() -> float:
        return gauge(await alerts.metrics(), "pingan_alerts_unreachable_targets")

    await alerts.until(lambda: _above(gauge_up, 0), "the unreachable-targets gauge", timeout=5)
    # entered again (a new e-mail address), the ladder reaches them: nothing to report
    await alerts.add_contacts("person:值班员")
    assert await unreachable() == []
