"""Alerts in the directory's codes: with the sample city in alerts' copy of the directory, one township supervisor
scoped by the township (its code or its name) sees that township's alerts from every source — a 211 task of its
government, a patrol round on its grid, a no-show named by the township's name as roster sent it before codes —
and nothing of the next township; a scope on a village sees only that village's; one silence by place holds all
three; one contact entry, addressed by the township's name and kept by its code, receives every source's
notifications; a department's overdue task lies in no township, so its 通报 goes to the city office; a place the
directory does not hold is refused at the door, naming the field."""

from __future__ import annotations

from datetime import timedelta

from pingan_stack.sample_directory import SAMPLE, seed_directory

from .escalation_harness import Alerts
from .test_builtin_ladders import NO_SHOW, NOT_STARTED, source_signal

TANGXIA = "330381102000"
HANTIAN = "330381102201"
OFFICE = "role:township-supervisor:塘下镇"  # as the admin writes it; kept as role:township-supervisor:330381102000


async def _scene(alerts: Alerts) -> dict[str, str]:
    """Four alerts: 塘下's government (211), a round on 塘下's grid, a no-show in 塘下 by name, 安阳's (211)."""
    keys = {"211": "inspection:task:tx-1:overdue", "patrol": "patrol:round:r-tx:not-started",
            "roster": "roster:shift:s-tx:no-show", "next": "inspection:task:ay-1:overdue"}
    await alerts.signal("trigger", keys["211"], 1, unit="TX")
    await alerts.signal("trigger", keys["next"], 1, unit="AY")
    patrol = source_signal(alerts, "patrol", "trigger", keys["patrol"], 1, kind=NOT_STARTED, area="罗凤街口")
    await alerts.publish([patrol.model_copy(update={"payload": {**patrol.payload, "place": "TX-G01"}})])
    await alerts.publish([source_signal(alerts, "roster", "trigger", keys["roster"], 1, kind=NO_SHOW, area="塘下镇")])
    return {name: (await alerts.wait_alert(key))["id"] for name, key in keys.items()}


def _window(alerts: Alerts, **fields: str) -> dict[str, str]:
    return {"starts_at": alerts.clock.now().isoformat(),
            "ends_at": (alerts.clock.now() + timedelta(hours=6)).isoformat(), "reason": "台风过境", **fields}


async def test_a_township_scope_sees_every_source_of_its_township_and_one_silence_holds_them(
    alerts_service: Alerts,
) -> None:
    alerts = alerts_service
    async with alerts.db() as conn:
        await seed_directory(conn, SAMPLE)
    await alerts.ok("PUT", "/v1/contacts/person:塘下镇值班员", alerts.admin, json={
        "display_name": "塘下镇值班员", "subject": "塘下镇值班员", "email": "tx@example.cn"})
    office = await alerts.ok("PUT", f"/v1/contacts/{OFFICE}", alerts.admin, json={
        "display_name": "塘下镇平安办", "members": ["person:塘下镇值班员"]})
    assert office["target"] == f"role:township-supervisor:{TANGXIA}"
    # a township supervisor silences its township by name (a typhoon day) before anything is raised
    township = alerts.supervisor("塘下镇督查", scope="塘下镇")
    silence = await alerts.ok("POST", "/v1/silences", township, expect=201, json=_window(alerts, place="塘下镇"))
    assert silence["place"] == TANGXIA
    ids = await _scene(alerts)

    for name in ("211", "patrol", "roster"):
        assert TANGXIA in (await alerts.alert(ids[name]))["places"], name
    raised = await alerts.alert(ids["patrol"])
    assert (raised["place"], raised["township"], raised["place_name"]) == ("TX-G01", TANGXIA, "韩田村第一网格")
    assert raised["places"] == ["TX-G01", HANTIAN, TANGXIA, "330381"]
    tx = await alerts.alert(ids["211"])
    assert (tx["place"], tx["unit_name"], tx["places"]) == (TANGXIA, "塘下镇人民政府", ["TX", TANGXIA, "330381"])

    for scope in (TANGXIA, "塘下镇"):
        supervisor = alerts.supervisor("塘下镇督查", scope=scope)
        seen = await alerts.ok("GET", "/v1/alerts", supervisor, expect=200)
        assert {a["id"] for a in seen["items"]} == {ids["211"], ids["patrol"], ids["roster"]}, scope
        hidden = await alerts.client.get(f"/v1/alerts/{ids['next']}", headers=supervisor)
        assert hidden.status_code == 404  # the next township's is answered as if it did not exist
    village = await alerts.ok("GET", "/v1/alerts", alerts.supervisor("韩田村", scope=HANTIAN), expect=200)
    assert [a["id"] for a in village["items"]] == [ids["patrol"]]

    # the one silence by place held the first step of all three kinds, not the next township's
    held = {name: (await alerts.alert(ids[name]))["held"] for name in ids}
    assert held == {"211": True, "patrol": True, "roster": True, "next": False}
    beyond = await alerts.client.post("/v1/silences", headers=township, json=_window(alerts, place="安阳街道"))
    assert beyond.status_code == 403 and beyond.json()["errors"][0]["field"] == "body.place"
    unknown = await alerts.client.post("/v1/silences", headers=alerts.admin, json=_window(alerts, place="火星"))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.place"
    refused = await alerts.post_signal("trigger", "grid:event:1", place="NOPE", expect=422)
    assert refused["errors"][0]["field"] == "body.place"
    await alerts.ok("DELETE", f"/v1/silences/{silence['id']}", township, expect=200)

    # one contact entry for the township's office: the patrol ladder's first step (released), the no-show's second
    # after 30 minutes and the 211 ladder's 通报 a day later — every source reaches the same entry
    await alerts.advance(timedelta(days=1, minutes=1))
    await alerts.until(lambda: _recipients(alerts, ids), "each source's notice to the township's one entry")


async def _recipients(alerts: Alerts, ids: dict[str, str]) -> bool:
    async with alerts.db() as conn:
        rows = await conn.fetch("SELECT DISTINCT alert_id FROM deliveries WHERE target = $1 AND recipient = $2",
                                f"role:township-supervisor:{TANGXIA}", "person:塘下镇值班员")
    return {r["alert_id"] for r in rows} >= {ids["211"], ids["patrol"], ids["roster"]}


async def test_a_departments_overdue_task_goes_to_the_city_office_not_a_township(alerts_service: Alerts) -> None:
    alerts = alerts_service
    async with alerts.db() as conn:
        await seed_directory(conn, SAMPLE)
    await alerts.signal("trigger", "inspection:task:ga-1:overdue", 1, unit="GA")
    alert = await alerts.wait_alert("inspection:task:ga-1:overdue")
    view = await alerts.alert(alert["id"])
    assert (view["place"], view["township"], view["unit_name"]) == ("330381", None, "瑞安市公安局")
    assert view["policy"]["steps"][1]["targets"] == ["role:city-office"]
