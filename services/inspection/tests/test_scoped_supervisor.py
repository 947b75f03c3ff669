"""A supervisor whose token carries a scope (a township) reads, in inspection as in patrol and alerts, only the work
of the units its scope covers: the unit whose id or name is the scope and the units it supervises. Everything else
answers exactly as an id that does not exist; a supervisor without a scope still reads everything. Checked from
outside, over HTTP with real tokens, through a released cycle and patrol hazard reports sent over the broker."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from pingan_shared.auth import Role
from pingan_shared.events.catalog import HAZARD_REPORTED
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.patrol_contracts import HazardReportedV1
from pingan_stack.sample_directory import SAMPLE, seed_directory

from .conftest import Inspection, local

UNITS = [
    {"id": "TX", "name": "塘下镇", "kind": "township", "contact": "塘下镇平安办"},
    {"id": "TX-AJ", "name": "塘下镇安监站", "kind": "department", "contact": "周", "supervising_unit_id": "TX"},
    {"id": "AY", "name": "安阳街道", "kind": "township", "contact": "安阳街道平安办"},
    {"id": "XF", "name": "市消防救援大队", "kind": "department", "contact": "119"},
]
CYCLE = "C-scope"
TX_MEMBER, AY_MEMBER = "张三", "李四"


def finding(fid: str, place: str, *, town: str | None = None, dept: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": fid, "cycle_id": CYCLE, "category": "fire", "place": place,
                            "description": f"{place} 消防通道堵塞", "evidence": [f"oss://{fid}.jpg"]}
    return body | ({"township_unit_id": town} if town else {}) | ({"department_unit_id": dept} if dept else {})


async def released_story(h: Inspection) -> dict[str, list[dict[str, Any]]]:
    """Findings of both townships released into tasks and notices, and a patrol hazard in each (plus one without a
    unit, for triage); answers every task by unit as an inspector sees them."""
    for unit in UNITS:
        await h.ok("POST", "/v1/units", h.inspector, json=unit)
    await h.ok("POST", "/v1/cycles", h.inspector, json={
        "id": CYCLE, "name": "2026年第3期", "start_date": "2026-03-02", "unit_ids": [u["id"] for u in UNITS]})
    await h.advance_to(local(date(2026, 3, 3), 10))
    for body in (finding("F-TX", "罗凤街12号", town="TX"), finding("F-AJ", "塘下工业区", dept="TX-AJ"),
                 finding("F-AY", "万松路8号", town="AY"), finding("F-AYXF", "安阳菜场", town="AY", dept="XF")):
        await h.ok("POST", "/v1/findings", h.inspector, json=body, expect=201)
    await h.advance_to(local(date(2026, 3, 16), 9))
    await h.wait_phase(CYCLE, "rectification")

    patrol = EventFactory("patrol", h.clock, h.platform.kafka_topic_prefix)
    seen = h.clock.now() - timedelta(hours=1)

    def hazard(hazard_id: str, unit_id: str | None, member: str, place: str) -> Any:
        return patrol.make(HAZARD_REPORTED, HazardReportedV1(
            hazard_id=hazard_id, team_id="巡逻队", member_id=member, category="gas", description="燃气瓶露天堆放",
            place=place, unit_id=unit_id, reported_at=seen, received_at=h.clock.now()), key=hazard_id)

    await h.publish([hazard("H-TX", "TX", TX_MEMBER, "塘下菜场"), hazard("H-AY", "AY", AY_MEMBER, "安阳新村"),
                     hazard("H-none", None, AY_MEMBER, "无主空地")])

    async def all_hazards() -> bool:
        tasks = await h.all_pages("/v1/tasks", h.inspector)
        return len([t for t in tasks if t["origin"] == "hazard"]) == 3
    await h.until(all_hazards, "three hazard tasks")
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for task in await h.all_pages("/v1/tasks", h.inspector):
        by_unit.setdefault(task["unit_id"] or "(triage)", []).append(task)
    return by_unit


def same_answer(a: httpx.Response, b: httpx.Response) -> tuple[int, Any]:
    assert (a.status_code, a.json()) == (b.status_code, b.json()), (a.text, b.text)
    return a.status_code, a.json()


async def test_a_scoped_supervisor_reads_its_township_and_what_it_supervises_and_nothing_else(
    inspection: Inspection,
) -> None:
    h = inspection
    by_unit = await released_story(h)
    ours = {t["id"] for u in ("TX", "TX-AJ") for t in by_unit[u]}
    theirs = {t["id"] for u in ("AY", "XF", "(triage)") for t in by_unit[u]}
    # TX: a finding and a hazard; TX-AJ: a finding. AY: two findings (one bundled with XF) and a hazard; XF: the
    # bundled finding; a hazard without a unit (triage)
    assert len(ours) == 3 and len(theirs) == 5
    [ay_hazard] = [t for t in by_unit["AY"] if t["origin"] == "hazard"]
    [tx_hazard] = [t for t in by_unit["TX"] if t["origin"] == "hazard"]
    township = h.auth(Role.SUPERVISOR, "塘下镇督查", scope="塘下镇")  # the scope names the township by its name

    # lists: exactly ours, also page by page
    assert {t["id"] for t in await h.all_pages("/v1/tasks", township)} == ours
    assert {t["id"] for t in await h.all_pages("/v1/tasks", township, limit=1)} == ours
    assert {t["id"] for t in await h.all_pages("/v1/tasks", township, {"unit_id": "TX-AJ"})} == {
        t["id"] for t in by_unit["TX-AJ"]}
    for unit in ("AY", "XF", "不存在的单位"):  # another unit's or an unknown id: the same 403 naming the filter
        refused = await h.client.get("/v1/tasks", params={"unit_id": unit}, headers=township)
        assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "unit_id", refused.text
        unknown = await h.client.get("/v1/tasks", params={"unit_id": "不存在的单位"}, headers=township)
        assert refused.text.replace(unit, "?") == unknown.text.replace("不存在的单位", "?")
    refused = await h.client.get("/v1/notices", params={"unit_id": "AY"}, headers=township)
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "unit_id", refused.text

    # one item: another township's task, its timeline (with its patrol member's name) and a triage task are the
    # same 404 as a task that never existed
    for path in ("/v1/tasks/{}", "/v1/tasks/{}/timeline"):
        unknown = await h.client.get(path.format("T-never"), headers=township)
        for task_id in theirs:
            status, body = same_answer(await h.client.get(path.format(task_id), headers=township), unknown)
            assert status == 404 and AY_MEMBER not in str(body)
        for task_id in ours:
            assert (await h.client.get(path.format(task_id), headers=township)).status_code == 200
    own_timeline = await h.ok("GET", f"/v1/tasks/{tx_hazard['id']}/timeline", township)
    assert any(TX_MEMBER in e["actor"] for e in own_timeline)

    # notices: ours, by list and by id; another township's is an unknown id
    notices = {n["unit_id"]: n for n in await h.all_pages("/v1/notices", h.inspector)}
    assert set(notices) == {"TX", "TX-AJ", "AY", "XF"}
    assert {n["unit_id"] for n in await h.all_pages("/v1/notices", township)} == {"TX", "TX-AJ"}
    unknown_notice = await h.client.get("/v1/notices/N2026-9999", headers=township)
    for unit in ("AY", "XF"):
        status, _ = same_answer(await h.client.get(f"/v1/notices/{notices[unit]['id']}", headers=township),
                                unknown_notice)
        assert status == 404
    assert (await h.ok("GET", f"/v1/notices/{notices['TX']['id']}", township))["unit_id"] == "TX"

    # nothing of another township anywhere in what this supervisor reads
    pages = [await h.all_pages("/v1/tasks", township), await h.all_pages("/v1/notices", township)]
    assert AY_MEMBER not in str(pages) and ay_hazard["id"] not in str(pages)

    # a scope naming a unit by its id covers that unit the same way; a supervisor without a scope reads everything
    by_id = h.auth(Role.SUPERVISOR, "安阳督查", scope="AY")
    assert {t["id"] for t in await h.all_pages("/v1/tasks", by_id)} == {t["id"] for t in by_unit["AY"]}
    assert (await h.client.get(f"/v1/tasks/{ay_hazard['id']}/timeline", headers=by_id)).status_code == 200
    assert (await h.client.get(f"/v1/tasks/{tx_hazard['id']}", headers=by_id)).status_code == 404
    city = h.supervisor
    assert {t["id"] for t in await h.all_pages("/v1/tasks", city)} == ours | theirs
    assert {n["unit_id"] for n in await h.all_pages("/v1/notices", city)} == {"TX", "TX-AJ", "AY", "XF"}
    timeline = await h.ok("GET", f"/v1/tasks/{ay_hazard['id']}/timeline", city)
    assert any(AY_MEMBER in e["actor"] for e in timeline)

    # the scorecard at the close: the rows of its units (and bundles with one of them), city-wide for the city
    await h.advance_to(local(date(2026, 3, 30), 9))
    await h.wait_phase(CYCLE, "closed")
    # tokens live 12 h on the service clock, which has just moved two weeks: the same people sign in again
    township = h.auth(Role.SUPERVISOR, "塘下镇督查", scope="塘下镇")
    by_id, city = h.auth(Role.SUPERVISOR, "安阳督查", scope="AY"), h.supervisor
    card = await h.ok("GET", f"/v1/cycles/{CYCLE}/scorecard", township)
    assert sorted(r["subject"] for r in card["units"]) == ["TX", "TX-AJ"] and card["bundles"] == []
    csv = (await h.client.get(f"/v1/cycles/{CYCLE}/scorecard", params={"format": "csv"}, headers=township)).text
    assert "TX" in csv and "AY" not in csv and "XF" not in csv
    whole = await h.ok("GET", f"/v1/cycles/{CYCLE}/scorecard", city)
    assert sorted(r["subject"] for r in whole["units"]) == ["AY", "TX", "TX-AJ", "XF"]
    assert [r["subject"] for r in whole["bundles"]] == ["AY+XF"]
    ay_card = await h.ok("GET", f"/v1/cycles/{CYCLE}/scorecard", by_id)
    assert [r["subject"] for r in ay_card["units"]] == ["AY"] and [r["subject"] for r in ay_card["bundles"]] == [
        "AY+XF"]
    # cycles are not secret: every supervisor reads them whole
    assert sorted((await h.ok("GET", f"/v1/cycles/{CYCLE}", township))["unit_ids"]) == sorted(u["id"] for u in UNITS)


async def test_a_scope_by_the_townships_code_covers_the_organisations_of_its_place(inspection: Inspection) -> None:
    """With the directory in inspection's copy, a scope named by the township's code (no unit has that id or name)
    covers the units that are organisations in the township (TX, its government) and what they supervise."""
    h = inspection
    async with h.db() as conn:
        await seed_directory(conn, SAMPLE)
    by_unit = await released_story(h)
    by_code = h.auth(Role.SUPERVISOR, "塘下镇督查", scope="330381102000")
    assert {t["id"] for t in await h.all_pages("/v1/tasks", by_code)} == {
        t["id"] for u in ("TX", "TX-AJ") for t in by_unit[u]}
    elsewhere = h.auth(Role.SUPERVISOR, "万松社区", scope="330381001001")  # a community of 安阳: AY is above it
    assert await h.all_pages("/v1/tasks", elsewhere) == []
