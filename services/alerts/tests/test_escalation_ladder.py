"""The ladder over the real broker and database with a controlled clock: each step at its delay, ack stops it,
an ack timeout resumes it, a resolve stops it for good (also one that overtook its trigger), a trigger after a
resolve opens a new alert, and redelivered or reordered signals change nothing."""

from __future__ import annotations

from datetime import timedelta

from .escalation_harness import MARKER, UNIT, Alerts

TOWNSHIP = "person:塘下镇分管领导"
CITY = "role:city-office"


def ladder(*, ack_timeout: int | None = None) -> list[dict[str, object]]:
    return [
        {"delay_seconds": 0, "targets": ["unit:{unit}"], "channels": ["inbox"], "label": "逾期提醒"},
        {"delay_seconds": 600, "targets": [TOWNSHIP], "channels": ["inbox", "email"], "label": "通报",
         "ack_timeout_seconds": ack_timeout},
        {"delay_seconds": 1200, "targets": [CITY], "channels": ["email"], "label": "挂牌督办"},
    ]


async def setup(alerts: Alerts, **kwargs: object) -> None:
    await alerts.add_contacts(f"unit:{UNIT}", TOWNSHIP, CITY)
    await alerts.create_policy(ladder(**kwargs))  # type: ignore[arg-type]


async def test_an_overdue_signal_climbs_each_step_at_its_delay_and_stops_on_ack(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await setup(alerts)
    key = "inspection:task:t-1:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)
    assert await alerts.steps_fired(alert["id"]) == [(0, 0)]

    await alerts.advance(timedelta(seconds=599))
    await alerts.quiet()
    assert (await alerts.alert(alert["id"]))["current_step"] == 0, "step 1 fired before its delay"

    await alerts.advance(timedelta(seconds=1))
    await alerts.wait_alert(key, step=1)
    view = await alerts.alert(alert["id"])
    assert view["current_label"] == "通报"

    await alerts.ok("POST", f"/v1/alerts/{alert['id']}/acknowledgement", alerts.supervisor(), expect=200)
    assert (await alerts.alert(alert["id"]))["status"] == "acknowledged"
    await alerts.advance(timedelta(hours=6))
    await alerts.quiet()
    view = await alerts.alert(alert["id"])
    assert (view["status"], view["current_step"]) == ("acknowledged", 1), "the climb went on after the ack"

    escalated = [e for e in await alerts.events("alerts.alert-escalated") if e["alert_id"] == alert["id"]]
    assert [(e["step"], e["label"]) for e in escalated] == [(0, "逾期提醒"), (1, "通报")]
    assert escalated[0]["targets"] == [f"unit:{UNIT}"]  # the {unit} placeholder filled from the signal
    assert len(await alerts.events("alerts.alert-raised")) == 1
    assert len(await alerts.events("alerts.alert-acknowledged")) == 1
    async with alerts.db() as conn:
        sent = await conn.fetch("SELECT step_index, target, channel FROM deliveries WHERE alert_id = $1"
                                " ORDER BY step_index, channel", alert["id"])
    assert [(r["step_index"], r["target"], r["channel"]) for r in sent] == [
        (0, f"unit:{UNIT}", "inbox"), (1, TOWNSHIP, "email"), (1, TOWNSHIP, "inbox")]


async def test_an_ack_timeout_resumes_the_climb(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await setup(alerts, ack_timeout=300)
    key = "inspection:task:t-2:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)
    await alerts.advance(timedelta(seconds=600))
    await alerts.wait_alert(key, step=1)
    await alerts.ok("POST", f"/v1/alerts/{alert['id']}/acknowledgement", alerts.unit(), expect=200)

    await alerts.advance(timedelta(seconds=299))
    await alerts.quiet()
    assert (await alerts.alert(alert["id"]))["status"] == "acknowledged"
    await alerts.advance(timedelta(seconds=1))
    await alerts.wait_alert(key, step=2)
    assert [e["kind"] for e in await alerts.timeline(alert["id"], "acknowledgement-expired")] == [
        "acknowledgement-expired"]
    assert await alerts.steps_fired(alert["id"]) == [(0, 0), (1, 0), (2, 0)]


async def test_a_resolve_stops_the_climb_and_a_later_trigger_opens_a_new_alert(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await setup(alerts)
    key = "inspection:task:t-3:overdue"
    await alerts.signal("trigger", key, 1)
    first = await alerts.wait_alert(key, step=0)
    await alerts.signal("resolve", key, 2)
    await alerts.wait_alert(key, status="resolved")
    await alerts.advance(timedelta(hours=2))
    await alerts.quiet()
    assert await alerts.steps_fired(first["id"]) == [(0, 0)], "a step fired after the resolve"
    resolved = await alerts.events("alerts.alert-resolved")
    assert [e["alert_id"] for e in resolved] == [first["id"]]

    await alerts.signal("trigger", key, 3)
    second = await alerts.wait_alert(key, status="open", step=0)
    assert second["id"] != first["id"]
    assert (await alerts.alert(first["id"]))["status"] == "resolved"


async def test_a_resolve_that_overtook_its_trigger_wins(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await setup(alerts)
    key = "inspection:task:t-4:overdue"
    trigger = alerts.signal_envelope("trigger", key, 1)
    resolve = alerts.signal_envelope("resolve", key, 2)
    # the resolve arrives first, then the trigger (twice: a redelivery), then a marker key to know all were read
    await alerts.publish([resolve, trigger, trigger])
    await alerts.signal("trigger", MARKER, 1)
    await alerts.wait_alert(MARKER, step=0)
    await alerts.advance(timedelta(hours=2))
    await alerts.quiet()
    assert await alerts.alert_for(key) is None, "a stale trigger opened an alert"
    async with alerts.db() as conn:
        assert await conn.fetchval("SELECT last_sequence FROM alert_signal_keys WHERE dedup_key = $1", key) == 2


async def test_redelivered_and_reordered_signals_change_nothing(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await setup(alerts)
    key = "inspection:task:t-5:overdue"
    trigger = alerts.signal_envelope("trigger", key, 1)
    again = alerts.signal_envelope("trigger", key, 2)  # a second trigger while open: deduplicated
    resolve = alerts.signal_envelope("resolve", key, 3)
    await alerts.publish([trigger, trigger, again, trigger])
    alert = await alerts.wait_alert(key, step=0)
    await alerts.publish([again, resolve, again, trigger, resolve])
    await alerts.wait_alert(key, status="resolved")
    await alerts.signal("trigger", MARKER, 1)
    await alerts.wait_alert(MARKER, step=0)
    async with alerts.db() as conn:
        count = await conn.fetchval("SELECT count(*) FROM alerts WHERE dedup_key = $1", key)
    assert count == 1
    raised = [e for e in await alerts.events("alerts.alert-raised") if e["dedup_key"] == key]
    resolved = [e for e in await alerts.events("alerts.alert-resolved") if e["dedup_key"] == key]
    assert (len(raised), len(resolved)) == (1, 1)
    assert await alerts.steps_fired(alert["id"]) == [(0, 0)]


async def test_an_ack_lapsing_on_the_last_step_opens_the_alert_again(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await alerts.add_contacts(CITY)
    await alerts.create_policy([{"delay_seconds": 0, "targets": [CITY], "channels": ["email"], "label": "问责",
                                 "ack_timeout_seconds": 300}])
    key = "inspection:task:t-6:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)
    await alerts.ok("POST", f"/v1/alerts/{alert['id']}/acknowledgement", alerts.supervisor(), expect=200)
    await alerts.advance(timedelta(seconds=300))
    reopened = await alerts.wait_alert(key, status="open")
    assert (reopened["current_step"], reopened["next_escalation_at"]) == (0, None)
    assert await alerts.steps_fired(alert["id"]) == [(0, 0)]  # nothing further to climb to: no step fired again
