"""Alerts addressed to people (``AlertSignalV1.people``), as roster's handoff reminder sends them: the built-in ladder
of ``roster.handoff-due`` names ``person:{people}``, so each member on the shift is reached through its own contact
(here its inbox, read with its member token); a later trigger naming one more member tells that member only; a
redelivered trigger changes nothing; roster's resolve at the shift's start closes the alert and tells nobody."""

from __future__ import annotations

from typing import Any

from alerts.domain.policy import DEFAULT_HANDOFF_LADDER, HANDOFF_DUE_KIND, Policy, Step, add_people, freeze
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory

from .escalation_harness import START, Alerts, AlertsFactory

KEY = "roster:shift:d1@2026-03-16:handoff"
TEXT = "交接班提醒：3月16日20:00开始塘下镇夜间巡逻（塘下镇）；同班：张三、李四、王五"


def test_people_fill_a_ladder_once_each_and_a_later_trigger_adds_only_who_is_new() -> None:
    frozen = freeze(DEFAULT_HANDOFF_LADDER, unit_id=None, area="塘下镇", people=["M-1", "M-2", "M-1"])
    [step] = frozen.steps
    assert step.targets == ("person:M-1", "person:M-2") and step.addressed == ("person:{people}",)
    assert not step.tells_resolution
    widened, gained = add_people(frozen, ["M-2", "M-3"])
    assert widened.steps[0].targets == ("person:M-1", "person:M-2", "person:M-3") and gained == [("person:M-3",)]
    assert add_people(widened, ["M-1", "M-3"]) == (widened, [()])
    # the frozen copy keeps what widening needs across a restart (it is stored as JSON)
    assert Policy.from_json(widened.as_json()) == widened
    # a ladder naming nobody by {people}: no signal's people change it; no people, no such target
    plain = freeze(Policy("p", "p", (Step(0, ("role:city-office", "person:{people}"), ("inbox",), "x"),)),
                   unit_id=None, area=None)
    assert plain.steps[0].targets == ("role:city-office",)
    assert add_people(freeze(Policy("q", "q", (Step(0, ("role:city-office",), ("inbox",), "x"),)),
                             unit_id=None, area=None), ["M-1"])[1] == [()]


def handoff(alerts: Alerts, action: str, sequence: int, people: list[str]) -> Envelope:
    """The signal as roster publishes it (its per-key sequence in the envelope)."""
    payload = AlertSignalV1(action=SignalAction(action), dedup_key=KEY, kind=HANDOFF_DUE_KIND, severity=Severity.INFO,
                            area="塘下镇", summary=TEXT, people=people,
                            source=SourceLink(service="roster", entity_type="shift", entity_id="d1@2026-03-16"),
                            occurred_at=alerts.clock.now())
    _, envelope = EventFactory("roster", alerts.clock, alerts.platform.kafka_topic_prefix).make(
        ALERT_SIGNAL, payload, key=KEY)
    return envelope.model_copy(update={"sequence": sequence})


async def deliveries(alerts: Alerts, alert_id: str) -> list[tuple[str, str, str]]:
    async with alerts.db() as conn:
        rows = await conn.fetch("SELECT event, channel, recipient FROM deliveries WHERE alert_id = $1"
                                " ORDER BY recipient, channel", alert_id)
    return [(r["event"], r["channel"], r["recipient"]) for r in rows]


async def inbox(alerts: Alerts, member: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await alerts.ok("GET", "/v1/inbox", alerts.auth(Role.MEMBER, member)))["items"]
    return items


async def test_a_handoff_reminder_reaches_each_member_once_on_their_own_inbox(alerts_factory: AlertsFactory) -> None:
    alerts = await alerts_factory(FixedClock(START), delivery_poll_seconds=0.1, delivery_bundle_window_seconds=0)
    for member, name in (("M-1", "张三"), ("M-2", "李四"), ("M-3", "王五")):
        await alerts.ok("PUT", f"/v1/contacts/person:{member}", alerts.admin,
                        json={"display_name": name, "subject": member})

    await alerts.publish([handoff(alerts, "trigger", 1, ["M-1", "M-2"])])
    alert = await alerts.wait_alert(KEY, step=0)
    assert alert["policy"]["id"] == f"builtin:{HANDOFF_DUE_KIND}" and alert["severity"] == "info"
    assert await deliveries(alerts, alert["id"]) == [("raised", "inbox", "person:M-1"),
                                                     ("raised", "inbox", "person:M-2")]

    async def in_both_inboxes() -> bool:
        return [len(await inbox(alerts, m)) for m in ("M-1", "M-2")] == [1, 1]

    await alerts.until(in_both_inboxes, "the reminder in each member's inbox")
    [message] = await inbox(alerts, "M-1")
    assert TEXT in message["title"] + message["body"] and message["alert_ids"] == [alert["id"]]

    # 王五 joined the shift: roster triggers again with the whole crew; a redelivery of either changes nothing
    await alerts.publish([handoff(alerts, "trigger", 2, ["M-1", "M-2", "M-3"]),
                          handoff(alerts, "trigger", 1, ["M-1", "M-2"]),
                          handoff(alerts, "trigger", 2, ["M-1", "M-2", "M-3"])])

    async def the_newcomer_told() -> bool:
        return len(await inbox(alerts, "M-3")) == 1

    await alerts.until(the_newcomer_told, "the member who joined reminded")
    await alerts.quiet()
    assert await deliveries(alerts, alert["id"]) == [("raised", "inbox", f"person:M-{i}") for i in (1, 2, 3)]
    assert [len(await inbox(alerts, m)) for m in ("M-1", "M-2", "M-3")] == [1, 1, 1]
    assert len(await alerts.events("alerts.alert-raised")) == 1
    [addressed] = await alerts.timeline(alert["id"], "addressed")
    assert addressed["detail"]["now_told"] == ["person:M-3"]

    # the shift starts: roster's resolve closes it, and nobody is told "resolved"
    await alerts.publish([handoff(alerts, "resolve", 3, [])])
    await alerts.wait_alert(KEY, status="resolved")
    await alerts.quiet()
    assert {event for event, _, _ in await deliveries(alerts, alert["id"])} == {"raised"}
    assert (await alerts.ok("GET", "/v1/auditor", alerts.admin))["findings"]["leading_nowhere"] == []


async def test_a_member_reads_its_own_inbox_and_other_roles_and_no_token_do_not(alerts_service: Alerts) -> None:
    alerts = alerts_service
    assert (await alerts.ok("GET", "/v1/inbox", alerts.auth(Role.MEMBER, "M-9")))["items"] == []
    device = alerts.auth(Role.PATROL_DEVICE, "device-1", team="一队")
    assert (await alerts.client.get("/v1/inbox", headers=device)).status_code == 403
    assert (await alerts.client.get("/v1/inbox")).status_code == 401
    assert (await alerts.client.post("/v1/inbox/1/read", headers=alerts.auth(Role.MEMBER, "M-9"))).status_code == 404
