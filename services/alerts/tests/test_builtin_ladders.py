"""The built-in ladders of the kinds patrol and roster emit, over the real broker and database with a controlled
clock: a round not started (the township supervisor at once, the city office an hour later unless acknowledged,
an acknowledgement lapsing after that hour, a late start closing it), a missed checkpoint (the township's inbox,
the city office a day later), a scan flag (the organisers' inbox, no climb) and a no-show (the organiser at once,
the township supervisor after 30 minutes). Signals are sent as patrol and roster send them: an area, no unit.
Each ladder is frozen onto its alert, its area filled in (or its city-wide stand-ins when the signal names no
area), and its targets reach the contacts that exist: the auditor finds nothing leading nowhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alerts.domain.policy import BUILTIN_POLICIES, builtin_for
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory

from .escalation_harness import Alerts

TOWNSHIP = "塘下镇"
NOT_STARTED = "patrol.round-not-started"
MISSED = "patrol.checkpoint-missed"
FLAGGED = "patrol.scan-flagged"
NO_SHOW = "roster.no-show"

# The directory as an admin fills it: each group with one person whose inbox a token subject reads.
PEOPLE = {
    f"role:township-supervisor:{TOWNSHIP}": "塘下镇平安办值班员",
    "role:city-office": "市平安办值班员",
    f"role:patrol-organiser:{TOWNSHIP}": "塘下镇巡逻组织员",
    "role:patrol-organiser": "市巡逻组织员",
}


async def directory(alerts: Alerts) -> None:
    for group, subject in PEOPLE.items():
        person = f"person:{subject}"
        await alerts.ok("PUT", f"/v1/contacts/{person}", alerts.admin, json={
            "display_name": subject, "subject": subject, "email": "duty@example.cn"})
        await alerts.ok("PUT", f"/v1/contacts/{group}", alerts.admin, json={
            "display_name": group.split(":", 1)[1], "members": [person]})


def source_signal(alerts: Alerts, service: str, action: str, key: str, sequence: int, *, kind: str,
                  area: str | None, severity: Severity = Severity.MEDIUM) -> Envelope:
    """A signal as patrol or roster publishes it: kind, severity, area, no unit, its per-key sequence."""
    payload = AlertSignalV1(action=SignalAction(action), dedup_key=key, kind=kind, severity=severity, area=area,
                            summary=f"{service} 测试信号 {key}",
                            source=SourceLink(service=service, entity_type="round", entity_id=key),
                            occurred_at=alerts.clock.now())
    _, envelope = EventFactory(service, alerts.clock, alerts.platform.kafka_topic_prefix).make(
        ALERT_SIGNAL, payload, key=key)
    return envelope.model_copy(update={"sequence": sequence})


async def send(alerts: Alerts, *envelopes: Envelope) -> None:
    await alerts.publish(list(envelopes))


async def deliveries(alerts: Alerts, alert_id: str) -> list[tuple[int, str, str, str]]:
    async with alerts.db() as conn:
        rows = await conn.fetch("SELECT step_index, target, channel, recipient FROM deliveries WHERE alert_id = $1"
                                " ORDER BY step_index, target, channel, recipient", alert_id)
    return [(r["step_index"], r["target"], r["channel"], r["recipient"]) for r in rows]


async def escalated(alerts: Alerts, alert_id: str) -> list[tuple[int, str, list[str]]]:
    return [(e["step"], e["label"], e["targets"]) for e in await alerts.events("alerts.alert-escalated")
            if e["alert_id"] == alert_id]


async def nothing_leads_nowhere(alerts: Alerts) -> dict[str, Any]:
    report = await alerts.ok("GET", "/v1/auditor", alerts.admin, expect=200)
    assert report["findings"]["leading_nowhere"] == []
    return report


def test_each_kind_has_its_builtin_ladder_and_an_alert_without_area_gets_the_city_wide_stand_ins() -> None:
    assert set(BUILTIN_POLICIES) >= {NOT_STARTED, MISSED, FLAGGED, NO_SHOW, "inspection.task-overdue"}
    scoped = builtin_for(NO_SHOW, township=TOWNSHIP)
    unscoped = builtin_for(NO_SHOW, township=None)
    assert scoped is not None and unscoped is not None
    assert [s.targets for s in scoped.steps] == [
        ("role:patrol-organiser:{township}",), ("role:township-supervisor:{township}",)]
    assert [s.targets for s in unscoped.steps] == [("role:patrol-organiser",), ("role:city-office",)]
    assert unscoped.id == scoped.id and [s.delay_seconds for s in unscoped.steps] == [0, 1800]
    # a department's overdue task lies in no township: its 通报 goes to the city office, its unit steps stay
    overdue = builtin_for("inspection.task-overdue", township=None)
    assert overdue is not None
    assert [s.targets for s in overdue.steps][:2] == [("unit:{unit}",), ("role:city-office",)]
    assert builtin_for("grid.unknown-kind", township=TOWNSHIP) is None


async def test_a_round_not_started_reaches_the_township_at_once_and_the_city_office_after_an_hour(
        alerts_service: Alerts) -> None:
    alerts = alerts_service
    await directory(alerts)
    key = "patrol:round:r-1:not-started"
    trigger = source_signal(alerts, "patrol", "trigger", key, 1, kind=NOT_STARTED, area=TOWNSHIP)
    await send(alerts, trigger)
    alert = await alerts.wait_alert(key, step=0)
    frozen = alert["policy"]
    assert frozen["id"] == f"builtin:{NOT_STARTED}"
    assert [(s["delay_seconds"], s["targets"], s["label"]) for s in frozen["steps"]] == [
        (0, [f"role:township-supervisor:{TOWNSHIP}"], "未出巡提醒"), (3600, ["role:city-office"], "市级通报")]
    await nothing_leads_nowhere(alerts)

    await send(alerts, trigger)  # a redelivery changes nothing
    await alerts.advance(timedelta(seconds=3599))
    await alerts.quiet()
    assert (await alerts.alert(alert["id"]))["current_step"] == 0, "the city office was told before the hour"
    await alerts.advance(timedelta(seconds=1))
    await alerts.wait_alert(key, step=1)
    assert await escalated(alerts, alert["id"]) == [
        (0, "未出巡提醒", [f"role:township-supervisor:{TOWNSHIP}"]), (1, "市级通报", ["role:city-office"])]
    assert len(await alerts.events("alerts.alert-raised")) == 1
    assert (0, f"role:township-supervisor:{TOWNSHIP}", "inbox", "person:塘下镇平安办值班员") in await deliveries(
        alerts, alert["id"])
    assert (1, "role:city-office", "inbox", "person:市平安办值班员") in await deliveries(alerts, alert["id"])

    # the late start: patrol's resolve closes it
    await send(alerts, source_signal(alerts, "patrol", "resolve", key, 2, kind=NOT_STARTED, area=TOWNSHIP))
    await alerts.wait_alert(key, status="resolved")
    assert len(await alerts.events("alerts.alert-resolved")) == 1


async def test_the_township_acknowledges_a_round_not_started_and_the_ack_lapses_after_the_hour(
        alerts_service: Alerts) -> None:
    alerts = alerts_service
    await directory(alerts)
    key = "patrol:round:r-2:not-started"
    await send(alerts, source_signal(alerts, "patrol", "trigger", key, 1, kind=NOT_STARTED, area=TOWNSHIP))
    alert = await alerts.wait_alert(key, step=0)
    # a supervisor of another township does not see it; the township's own acknowledges
    await alerts.ok("POST", f"/v1/alerts/{alert['id']}/acknowledgement",
                    alerts.supervisor("安阳街道平安办", scope="安阳街道"), expect=404)
    await alerts.ok("POST", f"/v1/alerts/{alert['id']}/acknowledgement",
                    alerts.supervisor("塘下镇平安办值班员", scope=TOWNSHIP), expect=200)
    await alerts.advance(timedelta(seconds=3599))
    await alerts.quiet()
    assert (await alerts.alert(alert["id"]))["status"] == "acknowledged"
    await alerts.advance(timedelta(seconds=1))  # acknowledged, yet the round still has not started
    await alerts.wait_alert(key, step=1)
    assert len(await alerts.timeline(alert["id"], "acknowledgement-expired")) == 1

    # a resolve that overtook a trigger of another round: that round's late trigger opens nothing
    other = "patrol:round:r-3:not-started"
    await send(alerts, source_signal(alerts, "patrol", "resolve", other, 2, kind=NOT_STARTED, area=TOWNSHIP),
               source_signal(alerts, "patrol", "trigger", other, 1, kind=NOT_STARTED, area=TOWNSHIP))
    await alerts.quiet()
    assert await alerts.alert_for(other) is None


async def test_a_missed_checkpoint_waits_a_day_before_the_city_office_hears_of_it(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await directory(alerts)
    key = "patrol:round:r-4:missed:cp-7"
    await send(alerts, source_signal(alerts, "patrol", "trigger", key, 1, kind=MISSED, area=TOWNSHIP))
    alert = await alerts.wait_alert(key, step=0)
    assert alert["policy"]["id"] == f"builtin:{MISSED}"
    assert {(c, t) for _, t, c, _ in await deliveries(alerts, alert["id"])} == {
        ("inbox", f"role:township-supervisor:{TOWNSHIP}"), ("stream", f"role:township-supervisor:{TOWNSHIP}")}
    await alerts.advance(timedelta(hours=23, minutes=59))
    await alerts.quiet()
    assert (await alerts.alert(alert["id"]))["current_step"] == 0
    await alerts.advance(timedelta(minutes=1))
    await alerts.wait_alert(key, step=1)
    assert await escalated(alerts, alert["id"]) == [
        (0, "漏巡提醒", [f"role:township-supervisor:{TOWNSHIP}"]), (1, "漏巡通报", ["role:city-office"])]
    assert {c for s, _, c, _ in await deliveries(alerts, alert["id"]) if s == 1} == {"inbox", "email"}
    await nothing_leads_nowhere(alerts)


async def test_a_scan_flag_goes_to_the_organisers_inbox_only_and_never_climbs(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await directory(alerts)
    key = "patrol:flag:T1:M1:too-fast:2026-03-15"
    await send(alerts, source_signal(alerts, "patrol", "trigger", key, 1, kind=FLAGGED, area=None,
                                     severity=Severity.LOW))
    alert = await alerts.wait_alert(key, step=0)
    assert alert["severity"] == "low"
    assert [(s["targets"], s["channels"]) for s in alert["policy"]["steps"]] == [(["role:patrol-organiser"], ["inbox"])]
    assert await deliveries(alerts, alert["id"]) == [(0, "role:patrol-organiser", "inbox", "person:市巡逻组织员")]
    await nothing_leads_nowhere(alerts)

    await alerts.advance(timedelta(days=30))
    await alerts.quiet()
    view = await alerts.alert(alert["id"])
    assert (view["status"], view["current_step"]) == ("open", 0)
    assert await escalated(alerts, alert["id"]) == [(0, "扫码异常核查", ["role:patrol-organiser"])]
    assert len(await alerts.timeline(alert["id"], "ladder-exhausted")) == 1
    inbox = await alerts.ok("GET", "/v1/inbox", alerts.supervisor("市巡逻组织员"), expect=200)
    assert inbox, "the organiser's inbox holds the flag"


async def test_a_no_show_reaches_the_organiser_then_the_township_supervisor(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await directory(alerts)
    key = "roster:shift:d1@2026-03-16:no-show:M07"
    await send(alerts, source_signal(alerts, "roster", "trigger", key, 1, kind=NO_SHOW, area=TOWNSHIP))
    alert = await alerts.wait_alert(key, step=0)
    await alerts.advance(timedelta(minutes=29, seconds=59))
    await alerts.quiet()
    assert (await alerts.alert(alert["id"]))["current_step"] == 0
    await alerts.advance(timedelta(seconds=1))
    await alerts.wait_alert(key, step=1)
    assert await escalated(alerts, alert["id"]) == [
        (0, "缺岗提醒", [f"role:patrol-organiser:{TOWNSHIP}"]),
        (1, "缺岗通报", [f"role:township-supervisor:{TOWNSHIP}"])]

    # a duty with neither area nor route: the city-wide stand-ins, not an alert leading nowhere
    bare = "roster:shift:d2@2026-03-16:no-show:M08"
    await send(alerts, source_signal(alerts, "roster", "trigger", bare, 1, kind=NO_SHOW, area=None))
    unscoped = await alerts.wait_alert(bare, step=0)
    assert [s["targets"] for s in unscoped["policy"]["steps"]] == [["role:patrol-organiser"], ["role:city-office"]]
    await nothing_leads_nowhere(alerts)
    assert (0, "role:patrol-organiser", "inbox", "person:市巡逻组织员") in await deliveries(alerts, unscoped["id"])

    # the member turns up late: roster's resolve closes it
    await send(alerts, source_signal(alerts, "roster", "resolve", bare, 2, kind=NO_SHOW, area=None))
    await alerts.wait_alert(bare, status="resolved")


async def test_the_builtin_ladders_are_listed(alerts_service: Alerts) -> None:
    alerts = alerts_service
    listed = await alerts.ok("GET", "/v1/builtin-policies", alerts.admin, expect=200)
    assert [p["kind"] for p in listed] == ["inspection.task-overdue", NOT_STARTED, MISSED, FLAGGED, NO_SHOW,
                                          "roster.shift-not-planned", "roster.handoff-due"]
    assert {p["kind"]: len(p["steps"]) for p in listed}[FLAGGED] == 1
    await alerts.ok("GET", "/v1/builtin-policies", alerts.supervisor(), expect=403)


async def test_a_restart_spanning_the_city_office_step_fires_it_once(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await directory(alerts)
    key = "patrol:round:r-9:not-started"
    await send(alerts, source_signal(alerts, "patrol", "trigger", key, 1, kind=NOT_STARTED, area=TOWNSHIP))
    alert = await alerts.wait_alert(key, step=0)
    await alerts.stop()
    await alerts.advance(timedelta(hours=3))  # the hour passes while alerts is down
    await alerts.start()
    await alerts.wait_alert(key, step=1)
    await alerts.quiet(1.0)
    assert await alerts.steps_fired(alert["id"]) == [(0, 0), (1, 0)]
    assert len([d for d in await deliveries(alerts, alert["id"]) if d[0] == 1 and d[2] == "inbox"]) == 1
