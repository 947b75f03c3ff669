"""The HTTP side of the escalation core: validation answers 4xx naming the field, role boundaries tried as an
attacker would, the events API's ordering, escalate now / to a step, a person's resolve, the built-in 211
ladder and the policy frozen onto an alert, and poison signals dead-lettered while the consumer goes on."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pingan_shared.auth import Role
from pingan_stack.test_tokens import session_signing_key

from .escalation_harness import OTHER_UNIT, UNIT, Alerts, read_dead_letters

CITY = "role:city-office"
STEP = {"delay_seconds": 0, "targets": [CITY], "channels": ["email"], "label": "通报"}


def policy(**changes: Any) -> dict[str, Any]:
    return {"name": "测试", "kind": "grid.timeout", "steps": [STEP], **changes}


async def refused(alerts: Alerts, method: str, path: str, headers: dict[str, str], status: int, field: str,
                  **kwargs: Any) -> dict[str, Any]:
    response = await alerts.client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert field in [e["field"] for e in body["errors"]], body
    return body


async def test_policy_validation_names_the_field(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await alerts.add_contacts(CITY)
    admin = alerts.admin
    await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps", json=policy(steps=[]))
    await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps.0.channels",
                  json=policy(steps=[{**STEP, "channels": []}]))
    await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps.0.targets",
                  json=policy(steps=[{**STEP, "targets": []}]))
    await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps.1.targets.1",
                  json=policy(steps=[STEP, {**STEP, "targets": [CITY, "person:无此人"]}]))
    await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps.0.targets.0",
                  json=policy(steps=[{**STEP, "targets": ["{unit}"]}]))
    await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps.0.targets.0",
                  json=policy(steps=[{**STEP, "targets": ["unit:{nope}"]}]))
    await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps.0.ack_timeout_seconds",
                  json=policy(steps=[{**STEP, "requires_all_acks": True}]))
    await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps.0.delay_seconds",
                  json=policy(steps=[{**STEP, "delay_seconds": "60"}]))
    body = await refused(alerts, "POST", "/v1/policies", admin, 422, "body.steps.0.targets.0",
                         json=policy(steps=[{**STEP, "targets": ["person:无此人"]}]))
    assert "无人可达" in body["detail"]
    created = await alerts.ok("POST", "/v1/policies", admin, expect=201, json=policy(repeat="forever"))
    assert created["repeat"] == "forever"
    await refused(alerts, "POST", "/v1/policies", admin, 409, "body.kind", json=policy())
    scoped = await alerts.ok("POST", "/v1/policies", admin, expect=201, json=policy(scope_unit=UNIT))
    await refused(alerts, "PUT", f"/v1/policies/{scoped['id']}", admin, 409, "body.kind", json=policy())
    await refused(alerts, "GET", "/v1/policies/pol-none", admin, 404, "policy_id")


async def test_signal_and_silence_validation_names_the_field(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await refused(alerts, "POST", "/v1/events", alerts.integration, 422, "body.occurred_at",
                  json={"action": "trigger", "dedup_key": "k", "kind": "x", "summary": "s", "occurred_at": 1700000000,
                        "source": {"service": "grid", "entity_type": "e", "entity_id": "1"}})
    await refused(alerts, "POST", "/v1/events", alerts.integration, 422, "body.action",
                  json={"action": "explode", "dedup_key": "k", "kind": "x", "summary": "s",
                        "occurred_at": "2026-03-16T09:00:00+08:00",
                        "source": {"service": "grid", "entity_type": "e", "entity_id": "1"}})
    await refused(alerts, "POST", "/v1/events", {**alerts.integration, "content-type": "application/json"}, 400,
                  "(body)", content=b"{not json")
    now = alerts.clock.now()
    await refused(alerts, "POST", "/v1/silences", alerts.admin, 422, "body.ends_at", json={
        "starts_at": now.isoformat(), "ends_at": (now - timedelta(hours=1)).isoformat(), "reason": "维护"})
    await refused(alerts, "POST", "/v1/silences", alerts.admin, 422, "body.starts_at", json={
        "starts_at": "2026-03-16T09:00:00", "ends_at": (now + timedelta(hours=1)).isoformat(), "reason": "维护"})


async def test_the_events_api_orders_by_the_callers_sequence(alerts_service: Alerts) -> None:
    alerts = alerts_service
    key = "grid:event:20260316-0042"
    assert (await alerts.post_signal("resolve", key, 2))["effect"] == "nothing-open"
    assert (await alerts.post_signal("trigger", key, 1))["effect"] == "stale"
    opened = await alerts.post_signal("trigger", key, 3)
    assert (opened["effect"], opened["status"]) == ("raised", "open")
    assert (await alerts.post_signal("trigger", key, 3))["effect"] == "stale"
    assert (await alerts.post_signal("trigger", key, 4))["effect"] == "deduplicated"
    closed = await alerts.post_signal("resolve", key, 5)
    assert (closed["effect"], closed["alert_id"]) == ("resolved", opened["alert_id"])
    # an admin may send too (in its subject's namespace); an unsequenced signal is applied as it comes
    again = await alerts.post_signal("trigger", key, headers=alerts.auth(Role.ADMIN, "grid"))
    assert again["effect"] == "raised" and again["alert_id"] != opened["alert_id"]


async def test_role_boundaries(alerts_service: Alerts) -> None:
    alerts = alerts_service
    mine = (await alerts.post_signal("trigger", "grid:a", 1, unit_id=UNIT))["alert_id"]
    theirs = (await alerts.post_signal("trigger", "grid:b", 1, unit_id=OTHER_UNIT))["alert_id"]
    in_area = (await alerts.post_signal("trigger", "grid:c", 1, unit_id=None, area=UNIT))["alert_id"]

    # a unit reads only its own; another unit's alert answers as one that does not exist
    listed = await alerts.ok("GET", "/v1/alerts", alerts.unit(UNIT), expect=200)
    assert [a["id"] for a in listed["items"]] == [mine]
    for path in (f"/v1/alerts/{theirs}", f"/v1/alerts/{theirs}/timeline"):
        await refused(alerts, "GET", path, alerts.unit(UNIT), 404, "alert_id")
    await refused(alerts, "POST", f"/v1/alerts/{theirs}/acknowledgement", alerts.unit(UNIT), 404, "alert_id")
    # a township supervisor sees and acks its township (by unit or area), not another's
    township = alerts.supervisor("塘下镇督查", scope=UNIT)
    listed = await alerts.ok("GET", "/v1/alerts", township, expect=200)
    assert sorted(a["id"] for a in listed["items"]) == sorted([mine, in_area])
    await refused(alerts, "POST", f"/v1/alerts/{theirs}/acknowledgement", township, 404, "alert_id")
    await refused(alerts, "POST", f"/v1/alerts/{theirs}/resolution", township, 404, "alert_id", json={})
    await refused(alerts, "POST", f"/v1/alerts/{theirs}/escalation", township, 404, "alert_id", json={})
    assert (await alerts.alert(theirs))["status"] == "open"
    # a unit may not resolve or escalate, even its own
    await refused(alerts, "POST", f"/v1/alerts/{mine}/resolution", alerts.unit(UNIT), 403, "Authorization", json={})
    await refused(alerts, "POST", f"/v1/alerts/{mine}/escalation", alerts.unit(UNIT), 403, "Authorization", json={})
    # an integration token sends signals and reads nothing; other roles and no token are refused
    integration = alerts.integration
    for path in ("/v1/alerts", f"/v1/alerts/{mine}", f"/v1/alerts/{mine}/timeline", "/v1/policies", "/v1/auditor",
                 "/v1/silences"):
        await refused(alerts, "GET", path, integration, 403, "Authorization")
    await refused(alerts, "GET", "/v1/alerts", alerts.auth(Role.INSPECTOR, "检查员"), 403, "Authorization")
    await refused(alerts, "GET", "/v1/alerts", {}, 401, "Authorization")
    await refused(alerts, "POST", "/v1/events", alerts.unit(UNIT), 403, "Authorization", json={})
    await refused(alerts, "POST", "/v1/events", township, 403, "Authorization", json={})
    # policies are the admins'; a scoped supervisor silences only its own scope
    await refused(alerts, "POST", "/v1/policies", township, 403, "Authorization", json=policy())
    await refused(alerts, "GET", "/v1/auditor", township, 403, "Authorization")
    now = alerts.clock.now()
    window = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat(), "reason": "台风"}
    await refused(alerts, "POST", "/v1/silences", township, 403, "body.unit_id", json={**window, "unit_id": OTHER_UNIT})
    await refused(alerts, "POST", "/v1/silences", township, 403, "body.unit_id", json=window)
    await refused(alerts, "POST", "/v1/silences", alerts.unit(UNIT), 403, "Authorization",
                  json={**window, "unit_id": UNIT})
    other = await alerts.ok("POST", "/v1/silences", alerts.admin, expect=201, json={**window, "unit_id": OTHER_UNIT})
    await refused(alerts, "DELETE", f"/v1/silences/{other['id']}", township, 404, "silence_id")
    assert await alerts.ok("GET", "/v1/silences", township, expect=200) == []
    # a token whose signature does not match is a 401, whatever it claims
    forged = alerts.admin["Authorization"][:-4] + "AAAA"
    await refused(alerts, "GET", "/v1/alerts", {"Authorization": forged}, 401, "Authorization")
    # a validly signed unit token without its unit would read nothing by unit: refused outright
    now = int(alerts.clock.now().timestamp())
    unscoped = session_signing_key().sign({"iss": "pingan", "sub": "联络员", "role": "unit", "iat": now,
                                           "exp": now + 3600})
    await refused(alerts, "GET", "/v1/alerts", {"Authorization": f"Bearer {unscoped}"}, 401, "Authorization")
    await refused(alerts, "POST", f"/v1/alerts/{mine}/acknowledgement", {"Authorization": f"Bearer {unscoped}"},
                  401, "Authorization")


async def test_escalate_now_to_a_step_and_a_persons_resolve(alerts_service: Alerts) -> None:
    alerts = alerts_service
    await alerts.add_contacts(CITY)
    await alerts.create_policy([STEP, {**STEP, "delay_seconds": 3600, "label": "挂牌督办"},
                                {**STEP, "delay_seconds": 3600, "label": "约谈"}], kind="grid.timeout")
    alert_id = (await alerts.post_signal("trigger", "grid:x", 1, kind="grid.timeout"))["alert_id"]
    path = f"/v1/alerts/{alert_id}"
    await alerts.ok("POST", f"{path}/acknowledgement", alerts.admin, expect=200)
    view = await alerts.ok("POST", f"{path}/escalation", alerts.supervisor(), expect=200, json={})
    assert (view["status"], view["current_step"], view["current_label"]) == ("open", 1, "挂牌督办")
    await refused(alerts, "POST", f"{path}/escalation", alerts.supervisor(), 422, "body.to_step", json={"to_step": 3})
    view = await alerts.ok("POST", f"{path}/escalation", alerts.supervisor(), expect=200, json={"to_step": 2})
    assert view["current_label"] == "约谈" and view["next_escalation_at"] is None
    await refused(alerts, "POST", f"{path}/escalation", alerts.supervisor(), 409, "status", json={})
    view = await alerts.ok("POST", f"{path}/resolution", alerts.supervisor(), expect=200, json={"reason": "已整改到位"})
    assert (view["status"], view["resolve_reason"]) == ("resolved", "已整改到位")
    await refused(alerts, "POST", f"{path}/resolution", alerts.supervisor(), 409, "status", json={})
    await refused(alerts, "POST", f"{path}/acknowledgement", alerts.admin, 409, "status")
    kinds = [e["kind"] for e in await alerts.ok("GET", f"{path}/timeline", alerts.admin, expect=200)]
    # (a lone notification leaves at once, so delivery's lines may come between: not this test's subject)
    assert [k for k in kinds if k not in ("notified", "delivery-attempt")] == [
        "raised", "step", "acknowledged", "step", "step", "ladder-exhausted", "resolved"]
    assert [e["label"] for e in await alerts.events("alerts.alert-escalated")] == ["通报", "挂牌督办", "约谈"]


async def test_the_builtin_211_ladder_and_the_frozen_policy(alerts_service: Alerts) -> None:
    alerts = alerts_service
    key = "inspection:task:b-1:overdue"
    await alerts.signal("trigger", key, 1)
    alert = await alerts.wait_alert(key, step=0)
    frozen = alert["policy"]
    assert frozen["id"] == "builtin:inspection.task-overdue"
    assert [s["label"] for s in frozen["steps"]] == ["逾期提醒", "通报", "挂牌督办", "约谈", "问责"]
    assert frozen["steps"][0]["targets"] == [f"unit:{UNIT}"]
    assert frozen["steps"][1]["targets"] == [f"role:township-supervisor:{UNIT}"]
    assert frozen["steps"][3]["requires_all_acks"] is True
    builtin = await alerts.ok("GET", "/v1/builtin-policies", alerts.admin, expect=200)
    assert builtin[0]["kind"] == "inspection.task-overdue"

    # a policy stored later changes alerts raised later, never the climb already under way
    await alerts.add_contacts(CITY)
    await alerts.create_policy([{**STEP, "label": "新阶梯"}])
    await alerts.advance(timedelta(days=1))
    await alerts.wait_alert(key, step=1)
    assert [e["label"] for e in await alerts.events("alerts.alert-escalated")] == ["逾期提醒", "通报"]
    await alerts.signal("trigger", "inspection:task:b-2:overdue", 1)
    later = await alerts.wait_alert("inspection:task:b-2:overdue", step=0)
    assert [s["label"] for s in later["policy"]["steps"]] == ["新阶梯"]


async def test_poison_signals_are_dead_lettered_and_the_consumer_goes_on(alerts_service: Alerts) -> None:
    alerts = alerts_service
    bad_payload = alerts.signal_envelope("trigger", "grid:poison", 1).model_copy(
        update={"payload": {"action": "trigger", "dedup_key": ""}})
    await alerts.publish_raw([(b"grid:junk", b"\xff not an envelope"),
                              (b"grid:poison", bad_payload.to_bytes()),
                              (b"grid:junk2", json.dumps({"event_id": "nope"}).encode())])
    await alerts.signal("trigger", "inspection:task:p-1:overdue", 1)
    await alerts.wait_alert("inspection:task:p-1:overdue", step=0)
    letters = await read_dead_letters(alerts, at_least=3)
    assert len(letters) == 3
    assert await alerts.alert_for("grid:poison") is None
