"""The release at the covert phase's end over the real broker and database with a controlled clock: tasks per
responsible unit, merged by hazard, grouped into numbered notices, events read from the topics; the
phase-change timer fires once, also across a restart spanning it."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from .conftest import INSPECTOR_NAME, MEMBER_NAME, Inspection, local
from .test_cycles_api import cycle

UNITS = [
    {"id": "U-AY", "name": "安阳街道", "kind": "township", "contact": "张"},
    {"id": "U-YH", "name": "玉海街道", "kind": "township", "contact": "赵"},
    {"id": "D-YJ", "name": "市应急管理局", "kind": "department", "contact": "李"},
    {"id": "D-ZF", "name": "市住建局", "kind": "department", "contact": "钱"},
]
COVERT_ENDS = local(date(2026, 3, 16))
CLOSES = local(date(2026, 3, 30))


def finding(finding_id: str, township: str | None, department: str | None, category: str, place: str,
            **more: Any) -> dict[str, Any]:
    return {"id": finding_id, "cycle_id": "c-1", "township_unit_id": township, "department_unit_id": department,
            "category": category, "severity": "medium", "place": place, "description": f"{place}隐患",
            "evidence": [f"photo:{finding_id}"], **more}


async def covert_phase_with_findings(inspection: Inspection, **cycle_more: Any) -> None:
    for unit in UNITS:
        await inspection.ok("POST", "/v1/units", inspection.inspector, json=unit)
    await inspection.ok("POST", "/v1/cycles", inspection.inspector,
                        json=cycle("c-1", units=[u["id"] for u in UNITS], **cycle_more))
    await inspection.advance_to(local(date(2026, 3, 4), 15))
    await inspection.ok("POST", "/v1/findings", inspection.inspector,
                        json=finding("f1", "U-AY", None, "fire", "万松路12号"))
    await inspection.advance_to(local(date(2026, 3, 5), 9))
    # the same hazard seen again (width and spacing differ): merges into f1's task
    await inspection.ok("POST", "/v1/findings", inspection.member(),  # a member's finding: its own id, key f2
                        json=finding("f2", "U-AY", None, "fire", "万松路 １２号"))
    await inspection.ok("POST", "/v1/findings", inspection.inspector,
                        json=finding("f3", "U-YH", "D-YJ", "gas", "玉海菜场"))     # bundled: a task each
    await inspection.ok("POST", "/v1/findings", inspection.inspector,
                        json=finding("f4", None, "D-YJ", "roads", "万松路口"))
    await inspection.ok("POST", "/v1/findings", inspection.member(),
                        json=finding("f5", "U-AY", None, "campus", "安阳小学"))


async def test_release_at_day_14(inspection: Inspection) -> None:
    await covert_phase_with_findings(inspection)
    assert (await inspection.ok("GET", "/v1/tasks", inspection.unit("U-AY"), expect=200))["items"] == []
    assert (await inspection.ok("GET", "/v1/notices", inspection.unit("U-AY"), expect=200))["items"] == []

    await inspection.advance_to(COVERT_ENDS)
    released = await inspection.wait_phase("c-1", "rectification")
    assert datetime.fromisoformat(released["released_at"]) == COVERT_ENDS

    unit = inspection.unit("U-AY")  # tokens are judged by the service's clock: issued now
    notices = await inspection.all_pages("/v1/notices", inspection.supervisor)
    assert [(n["unit_id"], n["number"], len(n["tasks"])) for n in notices] == [
        ("D-YJ", "〔2026〕1号", 2), ("U-AY", "〔2026〕2号", 2), ("U-YH", "〔2026〕3号", 1)]
    assert all(n["status"] == "open" and n["cycle_id"] == "c-1" for n in notices)

    tasks = await inspection.all_pages("/v1/tasks", inspection.inspector)
    assert Counter(t["unit_id"] for t in tasks) == {"U-AY": 2, "D-YJ": 2, "U-YH": 1}
    for task in tasks:
        assert task["status"] == "open" and task["origin"] == "finding" and task["cycle_id"] == "c-1"
        assert datetime.fromisoformat(task["deadline"]) == CLOSES
        assert task["notice_number"] == {n["unit_id"]: n["number"] for n in notices}[task["unit_id"]]
        assert not {"recorded_by", "recorded_role", "recorder"} & set(task)
    own = await inspection.all_pages("/v1/tasks", unit)
    assert sorted(t["category"] for t in own) == ["campus", "fire"]
    (mine,) = await inspection.all_pages("/v1/notices", unit)
    assert mine["number"] == "〔2026〕2号"
    other = next(n for n in notices if n["unit_id"] == "U-YH")
    assert (await inspection.client.get(f"/v1/notices/{other['id']}", headers=unit)).status_code == 404
    assert (await inspection.client.get("/v1/notices/N-nope", headers=unit)).json() == (
        await inspection.client.get(f"/v1/notices/{other['id']}", headers=unit)).json()

    fire = next(t for t in own if t["category"] == "fire")
    entries = await inspection.ok("GET", f"/v1/tasks/{fire['id']}/timeline", unit, expect=200)
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("recorded", "inspector"), ("merged", "supervision_member"), ("released", "system")]
    assert INSPECTOR_NAME not in str(entries) and MEMBER_NAME not in str(entries)
    staff_view = await inspection.ok("GET", f"/v1/tasks/{fire['id']}/timeline", inspection.inspector, expect=200)
    assert staff_view[0]["actor"] == f"inspector:{INSPECTOR_NAME}"
    async with inspection.db() as conn:
        linked = await conn.fetch("SELECT f.client_id FROM task_findings tf JOIN findings f ON f.id = tf.finding_id "
                                  "WHERE tf.task_id = $1 ORDER BY 1", fire["id"])
        assert [r["client_id"] for r in linked] == ["f1", "f2"]
        bundled = await conn.fetch("SELECT t.unit_id FROM task_findings tf JOIN tasks t ON t.id = tf.task_id "
                                   "WHERE tf.finding_id = 'f3' ORDER BY 1")
        assert [r["unit_id"] for r in bundled] == ["D-YJ", "U-YH"]
        armed = await conn.fetchval("SELECT count(*) FROM timers WHERE kind = 'task-deadline' AND status = 'pending' "
                                    "AND due_at = $1", CLOSES)
        assert armed == 5
        assert await conn.fetchval("SELECT count(*) FROM findings WHERE released_at IS NULL") == 0

    events = await inspection.all_inspection_events()
    opened = [e for e in events["inspection.tasks"] if e["type"] == "inspection.task-opened"]
    assert sorted(e["key"] for e in opened) == sorted(t["id"] for t in tasks)
    assert all(e["sequence"] == 1 for e in opened)
    issued = events["inspection.notices"]
    assert sorted((e["payload"]["number"], len(e["payload"]["task_ids"])) for e in issued) == [
        ("〔2026〕1号", 2), ("〔2026〕2号", 2), ("〔2026〕3号", 1)]
    phases = [(e["type"], e["payload"].get("phase"), e["sequence"]) for e in events["inspection.cycles"]]
    assert phases == [("inspection.cycle-opened", None, 1), ("inspection.cycle-phase-changed", "rectification", 2)]
    changed = events["inspection.cycles"][1]["payload"]
    assert (changed["released_tasks"], changed["notices"]) == (5, 3)

    # the timer fires again (a replica that missed the commit, a manual retry): nothing more happens
    async with inspection.db() as conn:
        before = await conn.fetchval("SELECT count(*) FROM outbox")
        await conn.execute("UPDATE timers SET status = 'pending', due_at = $1 WHERE kind = 'cycle-phase'", COVERT_ENDS)

        async def rearmed() -> bool:
            return await conn.fetchval("SELECT due_at FROM timers WHERE kind = 'cycle-phase'") == CLOSES  # type: ignore[no-any-return]
        await inspection.until(rearmed, "the cycle-phase timer re-armed for the close")
        assert await conn.fetchval("SELECT count(*) FROM outbox") == before
        assert await conn.fetchval("SELECT count(*) FROM tasks") == 5


async def test_release_happens_once_across_a_restart_spanning_the_phase_change(inspection: Inspection) -> None:
    await covert_phase_with_findings(inspection)
    await inspection.stop()
    await inspection.advance_to(local(date(2026, 3, 17), 8))  # a day and more after the phase change
    await inspection.start()
    await inspection.wait_phase("c-1", "rectification")
    await inspection.stop()
    await inspection.start()  # and once more: nothing happens twice
    events = await inspection.all_inspection_events()
    assert [e["payload"].get("phase") for e in events["inspection.cycles"]] == [None, "rectification"]
    assert len(events["inspection.notices"]) == 3
    assert len([e for e in events["inspection.tasks"] if e["type"] == "inspection.task-opened"]) == 5
    async with inspection.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM tasks") == 5
        assert await conn.fetchval("SELECT count(*) FROM notices") == 3


async def test_a_later_release_merges_into_the_units_open_notice(inspection: Inspection) -> None:
    """c-1's notice to 安阳街道 is still open when c-2 releases: c-2's tasks join it, numbers continue."""
    await covert_phase_with_findings(inspection)
    await inspection.ok("POST", "/v1/cycles", inspection.inspector,
                        json={**cycle("c-2", start="2026-03-30", units=["U-AY", "D-ZF"])})
    await inspection.advance_to(local(date(2026, 3, 31), 10))
    await inspection.wait_phase("c-1", "closed")
    await inspection.ok("POST", "/v1/findings", inspection.inspector,
                        json=finding("g1", "U-AY", None, "fire", "万松路12号", cycle_id="c-2"))  # c-1's task still open
    await inspection.ok("POST", "/v1/findings", inspection.inspector,
                        json=finding("g2", "U-AY", None, "other", "安阳广场", cycle_id="c-2"))
    await inspection.ok("POST", "/v1/findings", inspection.inspector,
                        json=finding("g3", None, "D-ZF", "construction", "工地", cycle_id="c-2"))
    await inspection.advance_to(local(date(2026, 4, 13)))
    await inspection.wait_phase("c-2", "rectification")
    notices = await inspection.all_pages("/v1/notices", inspection.supervisor)
    assert [(n["unit_id"], n["number"], len(n["tasks"])) for n in notices] == [
        ("D-YJ", "〔2026〕1号", 2), ("U-AY", "〔2026〕2号", 3), ("U-YH", "〔2026〕3号", 1), ("D-ZF", "〔2026〕4号", 1)]
    ay = await inspection.all_pages("/v1/tasks", inspection.unit("U-AY"))
    assert sorted((t["category"], t["cycle_id"]) for t in ay) == [("campus", "c-1"), ("fire", "c-1"),
                                                                    ("other", "c-2")]
    events = await inspection.all_inspection_events()
    c2_issues = [e["payload"] for e in events["inspection.notices"] if e["payload"]["cycle_id"] == "c-2"]
    assert sorted((p["number"], len(p["task_ids"])) for p in c2_issues) == [("〔2026〕2号", 1), ("〔2026〕4号", 1)]
