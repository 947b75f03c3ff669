"""A multi-ack step (约谈) keeps reminding until every target has acknowledged; a silence holds notifications
while it is active and releases what is still open at its end (or when it is ended early)."""

from __future__ import annotations

from datetime import timedelta

from .escalation_harness import OTHER_UNIT, UNIT, Alerts

SECRETARY = "person:王书记"
DIRECTOR = "person:李局长"


async def test_a_multi_ack_step_keeps_reminding_until_every_target_acked(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await alerts.add_contacts(SECRETARY, DIRECTOR, f"unit:{UNIT}")
    await alerts.create_policy([
        {"delay_seconds": 0, "targets": [SECRETARY, DIRECTOR, "unit:{unit}"], "channels": ["inbox"],
         "label": "约谈", "requires_all_acks": True, "ack_timeout_seconds": 600},
        {"delay_seconds": 86400, "targets": [SECRETARY], "channels": ["inbox"], "label": "问责"},
    ])
    key = "inspection:task:m-1:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)
    path = f"/v1/alerts/{alert['id']}/acknowledgement"

    view = await alerts.ok("POST", path, alerts.supervisor("王书记", scope=UNIT), expect=200)
    assert (view["status"], view["waiting_for_acks"]) == ("open", [DIRECTOR, f"unit:{UNIT}"])
    # the same person again changes nothing; a person who is not a target of the step may not answer for it
    await alerts.ok("POST", path, alerts.supervisor("王书记", scope=UNIT), expect=200)
    refused = await alerts.client.post(path, headers=alerts.supervisor("张科员", scope=UNIT))
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "Authorization"

    async def reminders() -> list[list[str]]:
        return [e["detail"]["waiting_for"] for e in await alerts.timeline(alert["id"], "reminder")]

    await alerts.advance(timedelta(seconds=600))
    await alerts.until(lambda: _has(reminders, 1), "the first reminder")
    assert await reminders() == [[DIRECTOR, f"unit:{UNIT}"]]

    await alerts.ok("POST", path, alerts.supervisor("李局长"), expect=200)
    await alerts.advance(timedelta(seconds=600))
    await alerts.until(lambda: _has(reminders, 2), "the second reminder")
    assert (await reminders())[1] == [f"unit:{UNIT}"]

    view = await alerts.ok("POST", path, alerts.unit(), expect=200)
    assert (view["status"], view["waiting_for_acks"]) == ("acknowledged", [])
    await alerts.advance(timedelta(days=2))
    await alerts.quiet()
    assert len(await reminders()) == 2, "reminders went on after every target acknowledged"
    assert await alerts.steps_fired(alert["id"]) == [(0, 0)], "the climb went on after the summons was answered"
    notified = [e["detail"] for e in await alerts.timeline(alert["id"], "notified")]
    assert [(n["event"], n["targets"]) for n in notified] == [
        ("raised", [SECRETARY, DIRECTOR, f"unit:{UNIT}"]), ("reminder", [DIRECTOR, f"unit:{UNIT}"]),
        ("reminder", [f"unit:{UNIT}"])]
    acked = await alerts.events("alerts.alert-acknowledged")
    assert [e["by"] for e in acked] == [f"unit:联络员-{UNIT}"]
    # Each reminder reaches delivery as its own row (one per scheduled reminder), not deduplicated into the
    # first: the unit, which had not acknowledged, has two; the director, who acknowledged in between, one.
    async with alerts.db() as conn:
        rows = await conn.fetch("SELECT target, due_at FROM deliveries WHERE alert_id = $1 AND event = 'reminder'"
                                " AND channel = 'inbox' ORDER BY due_at, target", alert["id"])
    reminded = [(r["target"], r["due_at"] - alerts.clock.now()) for r in rows]
    assert [t for t, _ in reminded] == [DIRECTOR, f"unit:{UNIT}", f"unit:{UNIT}"], reminded
    assert reminded[1][1] < reminded[2][1], "the second reminder is due later than the first"


async def _has(read: object, count: int) -> bool:
    return len(await read()) >= count  # type: ignore[operator]


async def test_a_silence_holds_then_releases_what_is_still_open(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await alerts.add_contacts(f"unit:{UNIT}", f"unit:{OTHER_UNIT}", SECRETARY)
    await alerts.create_policy([
        {"delay_seconds": 0, "targets": ["unit:{unit}"], "channels": ["inbox"], "label": "逾期提醒"},
        {"delay_seconds": 1800, "targets": [SECRETARY], "channels": ["inbox"], "label": "通报"},
    ])
    now = alerts.clock.now()
    silence = await alerts.ok("POST", "/v1/silences", alerts.supervisor(scope=UNIT), expect=201, json={
        "unit_id": UNIT, "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat(),
        "reason": "台风“海葵”过境，暂停督办通知"})

    held_key, other_key, closed_key = ("inspection:task:s-1:overdue", "inspection:task:s-2:overdue",
                                       "inspection:task:s-3:overdue")
    await alerts.signal("trigger", held_key, 1)
    await alerts.signal("trigger", closed_key, 1)
    await alerts.signal("trigger", other_key, 1, unit=OTHER_UNIT)
    held = await alerts.wait_alert(held_key, step=0)
    closed = await alerts.wait_alert(closed_key, step=0)
    other = await alerts.wait_alert(other_key, step=0)
    assert [e["kind"] for e in await alerts.timeline(other["id"]) if e["kind"] in ("held", "notified")] == ["notified"]
    assert (await alerts.alert(held["id"]))["held"] is True
    await alerts.signal("resolve", closed_key, 2)
    await alerts.wait_alert(closed_key, status="resolved")

    await alerts.advance(timedelta(minutes=30))  # the ladder climbs while silenced; the notices wait
    await alerts.wait_alert(held_key, step=1)
    assert [(e["kind"], e["detail"]["step"]) for e in await alerts.timeline(held["id"])
            if e["kind"] in ("held", "notified")] == [("held", 0), ("held", 1)]

    await alerts.advance(timedelta(minutes=30))

    async def released() -> bool:
        return bool(await alerts.timeline(held["id"], "released"))

    await alerts.until(released, "the silence released its alert")
    notified = [e["detail"] for e in await alerts.timeline(held["id"], "notified")]
    assert [(n["event"], n["step"], n["targets"]) for n in notified] == [("escalated", 1, [SECRETARY])]
    assert not await alerts.timeline(closed["id"], "notified"), "a resolved alert was released"
    assert (await alerts.alert(held["id"]))["held"] is False
    async with alerts.db() as conn:
        sent = await conn.fetch("SELECT target FROM deliveries WHERE alert_id = $1", held["id"])
    assert [r["target"] for r in sent] == [SECRETARY]

    listed = await alerts.ok("GET", "/v1/silences", alerts.admin, params={"current": "false"}, expect=200)
    assert [(s["id"], s["released_at"] is not None) for s in listed] == [(silence["id"], True)]


async def test_a_silence_ended_early_releases_at_once(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await alerts.add_contacts(f"unit:{UNIT}")
    await alerts.create_policy([{"delay_seconds": 0, "targets": ["unit:{unit}"], "channels": ["inbox"],
                                 "label": "逾期提醒"}])
    now = alerts.clock.now()
    silence = await alerts.ok("POST", "/v1/silences", alerts.admin, expect=201, json={
        "kind": "inspection.task-overdue", "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(), "reason": "系统维护"})
    key = "inspection:task:s-4:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)
    assert not await alerts.timeline(alert["id"], "notified")
    ended = await alerts.ok("DELETE", f"/v1/silences/{silence['id']}", alerts.admin, expect=200)
    assert ended["released_alerts"] == 1
    assert [e["detail"]["event"] for e in await alerts.timeline(alert["id"], "notified")] == ["raised"]
    await alerts.advance(timedelta(days=2))  # its end timer fires later and finds nothing to do
    await alerts.quiet()
    assert len(await alerts.timeline(alert["id"], "notified")) == 1
