"""Many alerts due at once (thousands of overdue tasks reaching 通报 together) fire as one batch: the timer runner
hands their timers to ``on_alerts_due``, which does a fixed number of statements for the lot — and each alert
still gets exactly what one firing gives it (its step, timeline, event, stream, notifications, next timer),
once, whatever else is due on the others (a reminder, a silence)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alerts.escalation import on_alerts_due
from alerts.store.alerts import ALERT_DUE
from pingan_shared.clock import FixedClock
from pingan_shared.timers import Timer

from .escalation_harness import UNIT, Alerts, AlertsFactory, DeafClock

ALERTS = 20
DIRECTOR = "person:李局长"


async def test_a_batch_of_due_steps_fires_each_once_in_a_fixed_number_of_statements(
        alerts_factory: AlertsFactory, escalation_clock: FixedClock) -> None:
    # the runner polls once an hour here: the test fires the batch itself, as the runner would, and counts
    alerts: Alerts = await alerts_factory(DeafClock(escalation_clock.now()), timer_poll_seconds=3600)
    await alerts.add_contacts(f"unit:{UNIT}", DIRECTOR)
    await alerts.create_policy([
        {"delay_seconds": 600, "targets": ["unit:{unit}"], "channels": ["inbox", "email"], "label": "逾期提醒"},
        {"delay_seconds": 86400, "targets": [DIRECTOR], "channels": ["inbox"], "label": "通报"},
    ])
    keys = [f"inspection:task:batch-{n}:overdue" for n in range(ALERTS)]
    await alerts.publish([alerts.signal_envelope("trigger", key, 1) for key in keys])
    ids = [(await alerts.wait_alert(key))["id"] for key in keys]
    due_at = alerts.clock.now() + timedelta(seconds=600)
    alerts.clock.set(due_at + timedelta(seconds=5))

    statements: list[str] = []
    async with alerts.ctx.runtime.connection() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT id, kind, timer_key, due_at, payload, attempts FROM timers WHERE kind = $1"
            " AND status = 'pending' AND due_at <= $2 ORDER BY due_at, id FOR UPDATE", ALERT_DUE,
            alerts.clock.now())
        timers = [Timer(r["id"], r["kind"], r["timer_key"], r["due_at"], r["payload"], r["attempts"])
                  for r in rows]
        assert sorted(t.key for t in timers) == sorted(ids)
        await conn.execute("UPDATE timers SET status = 'fired' WHERE id = ANY($1::bigint[])",
                           [t.id for t in timers])
        def logged(query: Any) -> None:
            statements.append(query.query)
        conn.add_query_logger(logged)
        try:
            await on_alerts_due(alerts.ctx, conn, timers)
        finally:
            conn.remove_query_logger(logged)

    # one alert fired its step with about fifteen statements before; twenty together take a dozen (not counting
    # asyncpg's own look-up of a type, done once per connection)
    statements = [s for s in statements if "typeinfo_tree" not in s and "'jit'" not in s]
    assert len(statements) <= 12, "\n".join(" ".join(s.split())[:90] for s in statements)

    async with alerts.db() as conn:
        steps = await conn.fetch("SELECT alert_id, detail FROM alert_timeline WHERE kind = 'step'")
        notified = await conn.fetch("SELECT alert_id, detail FROM alert_timeline WHERE kind = 'notified'")
        deliveries = await conn.fetch("SELECT alert_id, channel, recipient, event, step_index FROM deliveries")
        armed = await conn.fetch("SELECT timer_key, due_at, status FROM timers WHERE kind = $1", ALERT_DUE)
        states = await conn.fetch("SELECT id, status, current_step, next_escalation_at FROM alerts")
    assert sorted(r["alert_id"] for r in steps) == sorted(ids)
    assert {(r["detail"]["step"], r["detail"]["reason"], r["detail"]["due"]) for r in steps} == {
        (0, "delay", due_at.isoformat())}
    assert sorted(r["alert_id"] for r in notified) == sorted(ids)
    assert sorted((d["alert_id"], d["channel"]) for d in deliveries) == sorted(
        (i, c) for i in ids for c in ("inbox", "email"))
    assert {(d["event"], d["step_index"], d["recipient"]) for d in deliveries} == {("raised", 0, f"unit:{UNIT}")}
    # the next step is counted from when this one was due, not from when the batch ran
    assert {(r["status"], r["current_step"], r["next_escalation_at"]) for r in states} == {
        ("open", 0, due_at + timedelta(days=1))}
    assert {(r["due_at"], r["status"]) for r in armed} == {(due_at + timedelta(days=1), "pending")}
    assert sorted(r["timer_key"] for r in armed) == sorted(ids)
    escalated = await alerts.events("alerts.alert-escalated")
    assert sorted(e["alert_id"] for e in escalated) == sorted(ids)
    assert {(e["step"], e["label"]) for e in escalated} == {(0, "逾期提醒")}


async def test_the_runner_fires_a_burst_once_with_the_odd_ones_among_it(
        alerts_factory: AlertsFactory, escalation_clock: FixedClock) -> None:
    """Through the real timer runner: a burst of plain steps, one multi-ack step whose reminder falls due in the
    same batch, and one alert under a silence; each gets its own once, and a second round fires nothing."""
    alerts: Alerts = await alerts_factory(escalation_clock)
    await alerts.add_contacts(f"unit:{UNIT}", DIRECTOR)
    await alerts.create_policy([
        {"delay_seconds": 600, "targets": ["unit:{unit}"], "channels": ["inbox"], "label": "逾期提醒"},
        {"delay_seconds": 86400, "targets": [DIRECTOR], "channels": ["inbox"], "label": "通报"},
    ])
    await alerts.create_policy([
        {"delay_seconds": 0, "targets": [DIRECTOR, "unit:{unit}"], "channels": ["inbox"], "label": "约谈",
         "requires_all_acks": True, "ack_timeout_seconds": 600},
        {"delay_seconds": 86400, "targets": [DIRECTOR], "channels": ["inbox"], "label": "问责"},
    ], kind="inspection.summons")
    await alerts.ok("POST", "/v1/silences", alerts.admin, expect=201, json={
        "unit_id": "安阳街道", "starts_at": alerts.clock.now().isoformat(),
        "ends_at": (alerts.clock.now() + timedelta(hours=2)).isoformat(), "reason": "台风停工"})
    keys = [f"inspection:task:burst-{n}:overdue" for n in range(ALERTS)]
    await alerts.publish([alerts.signal_envelope("trigger", key, 1) for key in keys] + [
        alerts.signal_envelope("trigger", "inspection:task:silenced:overdue", 1, unit="安阳街道"),
        alerts.signal_envelope("trigger", "inspection:task:summons:overdue", 1, kind="inspection.summons")])
    ids = [(await alerts.wait_alert(key))["id"] for key in keys]
    silenced = (await alerts.wait_alert("inspection:task:silenced:overdue"))["id"]
    summons = (await alerts.wait_alert("inspection:task:summons:overdue", step=0))["id"]

    await alerts.advance(timedelta(seconds=600))

    async def all_fired() -> bool:
        fired = {e["alert_id"] for e in await alerts.events("alerts.alert-escalated")}
        reminded = await alerts.timeline(summons, "reminder")
        return fired >= {*ids, silenced} and len(reminded) == 1
    await alerts.until(all_fired, "the burst fired")
    await alerts.quiet()

    escalated: list[dict[str, Any]] = await alerts.events("alerts.alert-escalated")
    counts: dict[str, int] = {}
    for event in escalated:
        counts[event["alert_id"]] = counts.get(event["alert_id"], 0) + 1
    assert counts == {**dict.fromkeys(ids, 1), silenced: 1, summons: 1}, "a step fired twice or not at all"
    assert [e["detail"]["waiting_for"] for e in await alerts.timeline(summons, "reminder")] == [
        [DIRECTOR, f"unit:{UNIT}"]]
    assert len(await alerts.timeline(silenced, "held")) == 1
    assert await alerts.timeline(silenced, "notified") == []
    async with alerts.db() as conn:
        held_since = await conn.fetchval("SELECT held_since FROM alerts WHERE id = $1", silenced)
        silenced_rows = await conn.fetchval("SELECT count(*) FROM deliveries WHERE alert_id = $1", silenced)
        pending = await conn.fetchval("SELECT count(*) FROM timers WHERE kind = $1 AND status = 'pending'"
                                      " AND timer_key = ANY($2::text[])", ALERT_DUE, ids)
    assert held_since is not None and silenced_rows == 0
    assert pending == ALERTS, "every alert of the burst is armed for its next step"
