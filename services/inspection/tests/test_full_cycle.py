"""A whole 28-day 211 cycle in seconds: the clock moves, durable timers change the phases, and what the
service says and publishes is counted by the test itself.

Calendar cycle from Monday 2026-03-02: covert to 03-16 00:00, rectification to 03-30 00:00 (Asia/Shanghai).
Findings against three townships and three departments (two bundled township + department); at day 14 they
become tasks in numbered notices; units rectify (evidence required), inspectors verify, reject one (it returns
with its deadline), list one to 05-15 and one to 03-20; at day 28 — across a restart that spans it — exactly the
unverified, unlisted tasks go overdue once each with an alert signal; the listed ones only at their own
deadline; a late verification publishes task-verified and resolves the signal; the scorecard equals a count
made here from the API's own data. A second, working-day cycle around National Day 2026 skips the holiday
and counts the make-up Saturday (2026-10-10).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from pingan_shared.clock import FixedClock
from pingan_shared.events.alert_contracts import (
    AlertAcknowledgedV1,
    AlertEscalatedV1,
    AlertRaisedV1,
    AlertResolvedV1,
    Severity,
    SourceLink,
)
from pingan_shared.events.catalog import (
    ALERT_ACKNOWLEDGED,
    ALERT_ESCALATED,
    ALERT_RAISED,
    ALERT_RESOLVED,
    HAZARD_REPORTED,
)
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.patrol_contracts import HazardReportedV1

from .conftest import ZONE, Inspection, local

CYCLE = "C-2026-05"
START = date(2026, 3, 2)
RELEASE = local(date(2026, 3, 16))
CLOSE = local(date(2026, 3, 30))
UNITS = [
    {"id": "GA", "name": "瑞安市公安局", "kind": "department", "contact": "0577-65800000"},
    {"id": "AY", "name": "安阳街道", "kind": "township", "contact": "0577-65811111"},
    {"id": "YH", "name": "玉海街道", "kind": "township", "contact": "0577-65822222"},
    {"id": "JH", "name": "锦湖街道", "kind": "township", "contact": "0577-65833333"},
    {"id": "XF", "name": "瑞安市消防救援大队", "kind": "department", "contact": "119", "supervising_unit_id": "GA"},
    {"id": "ZJ", "name": "瑞安市住建局", "kind": "department", "contact": "0577-65844444"},
    {"id": "OUT", "name": "飞云街道", "kind": "township", "contact": "0577-65855555"},
]
SCOPE = ["AY", "YH", "JH", "XF", "ZJ", "GA"]


def finding(fid: str, category: str, place: str, *, town: str | None = None, dept: str | None = None,
            severity: str = "medium") -> dict[str, Any]:
    body: dict[str, Any] = {"id": fid, "cycle_id": CYCLE, "category": category, "severity": severity, "place": place,
                            "description": f"{place}：发现隐患", "evidence": [f"oss://evidence/{fid}.jpg"]}
    if town:
        body["township_unit_id"] = town
    if dept:
        body["department_unit_id"] = dept
    return body


FINDINGS = [
    finding("F1", "fire", "万松路12号", town="AY", severity="high"),
    finding("F2", "gas", "安阳菜市场东门", town="AY", dept="XF", severity="critical"),
    finding("F3", "roads", "罗阳大道与万松路口", town="YH"),
    finding("F4", "construction", "玉海楼旁工地", town="YH", dept="ZJ"),
    finding("F5", "gas", "锦湖小区3幢", town="JH", severity="low"),
]
MEMBER_FINDING = finding("F7", "public-order", "锦湖公园", town="JH")


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


async def task_by(h: Inspection, unit: str, place: str) -> dict[str, Any]:
    tasks = await h.all_pages("/v1/tasks", h.inspector, {"unit_id": unit})
    [task] = [t for t in tasks if t["place"] == place]
    return task


async def refreshed(h: Inspection, task: dict[str, Any]) -> dict[str, Any]:
    return await h.ok("GET", f"/v1/tasks/{task['id']}", h.inspector, expect=200)


async def rectify(h: Inspection, task: dict[str, Any], text: str = "已按要求整改") -> None:
    await h.ok("POST", f"/v1/tasks/{task['id']}/rectifications", h.unit(task["unit_id"]), expect=201,
               json={"text": text, "evidence": [f"oss://rectified/{task['id']}.jpg"]})


async def revisit(h: Inspection, task: dict[str, Any], outcome: str = "verified", remaining: str | None = None) -> None:
    body = {"outcome": outcome} | ({"remaining": remaining} if remaining else {})
    await h.ok("POST", f"/v1/tasks/{task['id']}/revisits", h.inspector, expect=201, json=body)


async def wait_overdue(h: Inspection, task: dict[str, Any]) -> dict[str, Any]:
    async def overdue() -> Any:
        return (await refreshed(h, task))["overdue_at"]
    await h.until(overdue, f"task {task['place']} overdue")
    return await refreshed(h, task)


def independent_scorecard(tasks: list[dict[str, Any]], findings: list[dict[str, Any]],
                          scope: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Count it here: a task verified before its deadline is on time, at or after it late, not verified still open; a
    bundled finding counts once for its pair, on time only when both units were."""
    def outcome(task: dict[str, Any]) -> str:
        verified = at(task["verified_at"])
        if verified is None:
            return "open"
        deadline = at(task["deadline"])
        assert deadline is not None
        return "on_time" if verified < deadline else "late"  # at the deadline it is overdue

    def tally(outcomes: list[str], rejections: int) -> dict[str, Any]:
        counts = Counter(outcomes)
        n = len(outcomes)
        return {"findings": n, "rectified_on_time": counts["on_time"], "rectified_late": counts["late"],
                "still_open": counts["open"], "revisit_rejections": rejections,
                "on_time_rate": round(1.0 if n == 0 else counts["on_time"] / n, 4)}

    per_unit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in tasks:
        per_unit[task["unit_id"]].append(task)
    units = {u: tally([outcome(t) for t in per_unit[u]], sum(t["rejections"] for t in per_unit[u])) for u in scope}
    bundles: dict[str, dict[str, Any]] = {}
    pair_outcomes: dict[str, list[str]] = defaultdict(list)
    pair_rejections: Counter[str] = Counter()
    for f in findings:
        if f.get("township_unit_id") and f.get("department_unit_id"):
            pair = f"{f['township_unit_id']}+{f['department_unit_id']}"
            mine = [t for t in tasks if t["place"] == f["place"]
                    and t["unit_id"] in (f["township_unit_id"], f["department_unit_id"])]
            assert len(mine) == 2, mine
            kinds = {outcome(t) for t in mine}
            pair_outcomes[pair].append("open" if "open" in kinds else "late" if "late" in kinds else "on_time")
            pair_rejections[pair] += sum(t["rejections"] for t in mine)
    for pair, outcomes in pair_outcomes.items():
        bundles[pair] = tally(outcomes, pair_rejections[pair])
    for rows in (units, bundles):
        key = {s: (-r["on_time_rate"], r["still_open"], r["revisit_rejections"]) for s, r in rows.items()}
        for subject, row in rows.items():
            row["rank"] = 1 + sum(1 for other in rows if key[other] < key[subject])
    return units, bundles


async def test_a_whole_cycle_release_rectify_overdue_restart_and_scorecard(inspection: Inspection) -> None:
    h = inspection
    for unit in UNITS:
        await h.ok("POST", "/v1/units", h.inspector, expect=201, json=unit)
    cycle = await h.ok("POST", "/v1/cycles", h.inspector, expect=201, json={
        "id": CYCLE, "name": "2026年第5期", "start_date": START.isoformat(), "unit_ids": SCOPE})
    assert (cycle["covert_days"], cycle["rectification_days"], cycle["day_basis"]) == (14, 14, "calendar")
    assert (at(cycle["starts_at"]), at(cycle["covert_ends_at"]), at(cycle["closes_at"])) == (
        local(START), RELEASE, CLOSE)
    # an overlapping cycle for a unit already in scope is refused, naming the clash
    clash = await h.client.post("/v1/cycles", headers=h.inspector, json={
        "id": "C-clash", "name": "重叠", "start_date": "2026-03-20", "unit_ids": ["OUT", "AY"]})
    assert clash.status_code == 409, clash.text
    assert [e["field"] for e in clash.json()["errors"]] == ["unit_ids"]
    assert "AY" in clash.json()["errors"][0]["reason"] or "安阳街道" in clash.json()["errors"][0]["reason"]
    assert "OUT" not in clash.json()["errors"][0]["reason"]
    # not started yet: no findings
    early = await h.client.post("/v1/findings", headers=h.inspector, json=FINDINGS[0])
    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "cycle_id", early.text

    # --- covert phase -----------------------------------------------------------------------------
    await h.advance_to(local(START + timedelta(days=1), 10))
    for body in FINDINGS:
        await h.ok("POST", "/v1/findings", h.inspector, expect=201, json=body)
    await h.ok("POST", "/v1/findings", h.member(), expect=201, json=MEMBER_FINDING)
    assert (await h.client.post("/v1/findings", headers=h.inspector, json=FINDINGS[0])).status_code == 200
    outside = await h.client.post("/v1/findings", headers=h.inspector, json=finding("F9", "fire", "x", town="OUT"))
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "township_unit_id"
    assert await h.all_pages("/v1/tasks", h.supervisor) == []

    # --- day 14: release --------------------------------------------------------------------------
    await h.advance_to(RELEASE + timedelta(minutes=1))
    await h.wait_phase(CYCLE, "rectification")
    tasks = await h.all_pages("/v1/tasks", h.inspector, {"cycle_id": CYCLE})
    assert sorted((t["unit_id"], t["place"]) for t in tasks) == sorted(
        [("AY", "万松路12号"), ("AY", "安阳菜市场东门"), ("XF", "安阳菜市场东门"), ("YH", "罗阳大道与万松路口"),
         ("YH", "玉海楼旁工地"), ("ZJ", "玉海楼旁工地"), ("JH", "锦湖小区3幢"), ("JH", "锦湖公园")])
    assert {at(t["deadline"]) for t in tasks} == {CLOSE}
    assert {t["status"] for t in tasks} == {"open"}
    notices = await h.all_pages("/v1/notices", h.supervisor)
    assert sorted(n["unit_id"] for n in notices) == ["AY", "JH", "XF", "YH", "ZJ"]
    numbers = sorted(int(n["number"].removeprefix("〔2026〕").removesuffix("号")) for n in notices)
    assert numbers == [1, 2, 3, 4, 5], [n["number"] for n in notices]
    for notice in notices:
        assert {t["id"] for t in notice["tasks"]} == {t["id"] for t in tasks if t["unit_id"] == notice["unit_id"]}
        assert all(t["notice_number"] == notice["number"] for t in tasks if t["unit_id"] == notice["unit_id"])

    f1 = await task_by(h, "AY", "万松路12号")
    f2_ay, f2_xf = await task_by(h, "AY", "安阳菜市场东门"), await task_by(h, "XF", "安阳菜市场东门")
    f3, f4_yh, f4_zj = (await task_by(h, "YH", "罗阳大道与万松路口"), await task_by(h, "YH", "玉海楼旁工地"),
                        await task_by(h, "ZJ", "玉海楼旁工地"))
    f5, f7 = await task_by(h, "JH", "锦湖小区3幢"), await task_by(h, "JH", "锦湖公园")

    # --- rectification ----------------------------------------------------------------------------
    await h.advance_to(local(date(2026, 3, 17), 10))
    no_evidence = await h.client.post(f"/v1/tasks/{f1['id']}/rectifications", headers=h.unit("AY"),
                                      json={"text": "已整改", "evidence": []})
    assert no_evidence.status_code == 422 and no_evidence.json()["errors"][0]["field"] == "evidence"
    await rectify(h, f1)
    again = await h.client.post(f"/v1/tasks/{f1['id']}/rectifications", headers=h.unit("AY"),
                                json={"text": "再交一次", "evidence": ["oss://x.jpg"]})
    assert again.status_code == 409
    await revisit(h, f1)
    await rectify(h, f2_ay)
    await revisit(h, f2_ay)
    await rectify(h, f2_xf)
    bare = await h.client.post(f"/v1/tasks/{f2_xf['id']}/revisits", headers=h.inspector, json={"outcome": "rejected"})
    assert bare.status_code == 422 and bare.json()["errors"][0]["field"] == "remaining"
    await revisit(h, f2_xf, "rejected", "钢瓶仍未入库")
    rejected = await refreshed(h, f2_xf)
    assert (rejected["status"], rejected["rejections"], at(rejected["deadline"])) == ("open", 1, CLOSE)
    nothing = await h.client.post(f"/v1/tasks/{f2_xf['id']}/revisits", headers=h.inspector,
                                  json={"outcome": "verified"})
    assert nothing.status_code == 409
    await rectify(h, f3)
    await revisit(h, f3, "rejected", "标线未重划")
    listed = await h.ok("PUT", f"/v1/tasks/{f4_yh['id']}/listing", h.inspector, expect=200,
                        json={"deadline": "2026-05-15", "note": "挂牌督办两个月"})
    assert listed["listed"] is True and at(listed["deadline"]) == local(date(2026, 5, 16))
    listed5 = await h.ok("PUT", f"/v1/tasks/{f5['id']}/listing", h.inspector, expect=200,
                         json={"deadline": "2026-03-20", "note": "限期三天"})
    assert at(listed5["deadline"]) == local(date(2026, 3, 21))
    assert (await h.client.put(f"/v1/tasks/{f1['id']}/listing", headers=h.inspector,
                               json={"deadline": "2026-05-15", "note": "x"})).status_code == 409
    past = await h.client.put(f"/v1/tasks/{f7['id']}/listing", headers=h.inspector,
                              json={"deadline": "2026-03-01", "note": "x"})
    assert past.status_code == 422, past.text
    premature = await h.client.get(f"/v1/cycles/{CYCLE}/scorecard", headers=h.supervisor)
    assert premature.status_code == 409

    await h.advance_to(local(date(2026, 3, 18), 15))
    await rectify(h, f2_xf, "钢瓶已入库")
    await revisit(h, f2_xf)

    # --- a listed task goes overdue at its own deadline; its late verification resolves the signal -----
    await h.advance_to(local(date(2026, 3, 21), 0, 1))
    assert at((await wait_overdue(h, f5))["overdue_at"]) is not None
    await h.advance_to(local(date(2026, 3, 22), 10))
    await rectify(h, f5)
    await revisit(h, f5)
    for task in (f3, f4_yh, f4_zj, f7):
        assert (await refreshed(h, task))["overdue_at"] is None

    # --- day 27: one unit submits, nobody revisits; then a restart that spans the deadline --------------
    await h.advance_to(local(date(2026, 3, 29), 16))
    await rectify(h, f4_zj)
    await h.advance_to(local(date(2026, 3, 29), 23, 30))
    await h.drained()
    for task in (f3, f4_yh, f4_zj, f7):
        assert (await refreshed(h, task))["overdue_at"] is None
    await h.stop()
    h.clock.set(CLOSE + timedelta(hours=2))
    await h.start()
    closed = await h.wait_phase(CYCLE, "closed")
    late = [f3, f4_zj, f7]
    for task in late:
        await wait_overdue(h, task)
    await h.stop()
    h.clock.set(CLOSE + timedelta(hours=3))
    await h.start()  # a second restart fires nothing again
    await h.advance_to(CLOSE + timedelta(days=1))
    assert (await refreshed(h, f4_yh))["overdue_at"] is None  # listed: its own deadline is in May

    # --- the scorecard, frozen at the close, equals the count made here -----------------------------------
    tasks = await h.all_pages("/v1/tasks", h.inspector, {"cycle_id": CYCLE})
    findings = await h.all_pages("/v1/findings", h.inspector, {"cycle_id": CYCLE})
    units, bundles = independent_scorecard(tasks, findings, SCOPE)
    card = await h.ok("GET", f"/v1/cycles/{CYCLE}/scorecard", h.supervisor, expect=200)
    closed_at = at(card["closed_at"])
    assert card["cycle_id"] == CYCLE and closed_at is not None and CLOSE <= closed_at <= CLOSE + timedelta(hours=2)
    assert at(closed["closes_at"]) == CLOSE
    figures = ("findings", "rectified_on_time", "rectified_late", "still_open", "revisit_rejections",
               "on_time_rate", "rank")
    assert {r["subject"]: {k: r[k] for k in figures} for r in card["units"]} == units
    assert {r["subject"]: {k: r[k] for k in figures} for r in card["bundles"]} == bundles
    assert units["AY"]["rectified_on_time"] == 2 and units["JH"]["rectified_late"] == 1
    assert units["XF"]["revisit_rejections"] == 1 and units["YH"]["still_open"] == 2
    assert set(bundles) == {"AY+XF", "YH+ZJ"}
    assert bundles["AY+XF"]["rectified_on_time"] == 1 and bundles["YH+ZJ"]["still_open"] == 1
    exported = await h.client.get(f"/v1/cycles/{CYCLE}/scorecard", params={"format": "csv"}, headers=h.supervisor)
    assert exported.status_code == 200 and exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == ("排名 (rank)", "考核对象 (subject)", "问题数 (findings)", "按期整改 (rectified_on_time)",
                              "逾期整改 (rectified_late)", "未整改 (still_open)", "回访未通过 (revisit_rejections)",
                              "按期整改率 (on_time_rate)")
    by_subject = {row[1]: row for row in rows[1:]}
    for subject, row in units.items():
        assert [int(x) for x in by_subject[subject][2:7]] == [row[k] for k in figures[:5]], subject

    # --- a verification after the close: task-verified and a resolve; the scorecard stays as it was -------
    await revisit(h, f4_zj)
    assert (await h.ok("GET", f"/v1/cycles/{CYCLE}/scorecard", h.supervisor, expect=200)) == card

    # --- the listed task at its own deadline in May ------------------------------------------------------
    await h.advance_to(local(date(2026, 5, 15), 23, 59))
    await h.drained()
    assert (await refreshed(h, f4_yh))["overdue_at"] is None
    await h.advance_to(local(date(2026, 5, 16), 0, 1))
    await wait_overdue(h, f4_yh)
    await h.advance_to(local(date(2026, 5, 20)))

    # --- count what reached the broker -------------------------------------------------------------------
    events = await h.all_inspection_events()
    task_events: dict[str, Counter[str]] = defaultdict(Counter)
    seen: set[str] = set()
    for record in events["inspection.tasks"]:
        if record["event_id"] not in seen:  # a re-published record is the same event
            seen.add(record["event_id"])
            task_events[record["type"]][record["payload"]["task_id"]] += 1
    overdue_expected = {t["id"] for t in (f5, f3, f4_zj, f7, f4_yh)}
    assert dict(task_events["inspection.task-overdue"]) == dict.fromkeys(overdue_expected, 1)
    assert dict(task_events["inspection.task-opened"]) == {t["id"]: 1 for t in tasks}
    assert dict(task_events["inspection.task-verified"]) == {t["id"]: 1 for t in (f1, f2_ay, f2_xf, f5, f4_zj)}
    verified = {r["payload"]["task_id"]: r["payload"] for r in events["inspection.tasks"]
                if r["type"] == "inspection.task-verified"}
    assert (verified[f5["id"]]["on_time"], verified[f5["id"]]["was_overdue"]) == (False, True)
    assert (verified[f4_zj["id"]]["on_time"], verified[f4_zj["id"]]["was_overdue"]) == (False, True)
    assert (verified[f2_xf["id"]]["on_time"], verified[f2_xf["id"]]["was_overdue"]) == (True, False)

    signals: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    signal_ids: set[str] = set()
    for record in events["inspection.alert-signals"]:
        if record["event_id"] not in signal_ids:
            signal_ids.add(record["event_id"])
            signals[(record["payload"]["action"], record["key"])].append(record["payload"])
    dedup = {t["id"]: f"inspection:task:{t['id']}:overdue" for t in tasks}
    assert sorted(k for (action, k) in signals if action == "trigger") == sorted(dedup[i] for i in overdue_expected)
    assert all(len(v) == 1 for v in signals.values()), signals
    assert sorted(k for (action, k) in signals if action == "resolve") == sorted([dedup[f5["id"]], dedup[f4_zj["id"]]])
    for task in (f5, f3, f4_zj, f7, f4_yh):
        [trigger] = signals[("trigger", dedup[task["id"]])]
        assert trigger["kind"] == "inspection.task-overdue" and trigger["unit_id"] == task["unit_id"]
        assert trigger["source"]["service"] == "inspection" and trigger["source"]["entity_type"] == "task"
        assert trigger["source"]["entity_id"] == task["id"] and task["place"] in trigger["summary"]
    for task in (f5, f4_yh):  # listed: at least high
        assert signals[("trigger", dedup[task["id"]])][0]["severity"] in {"high", "critical"}
    phases = [r["payload"]["phase"] for r in events["inspection.cycles"]
              if r["type"] == "inspection.cycle-phase-changed"]
    assert sorted(set(phases)) == ["closed", "rectification"]
    notices_issued = {r["event_id"]: r["payload"]["unit_id"] for r in events["inspection.notices"]}
    assert sorted(notices_issued.values()) == ["AY", "JH", "XF", "YH", "ZJ"]

    # --- the audit timeline of the rejected-then-verified task, from recording to closure -----------------
    timeline = await h.ok("GET", f"/v1/tasks/{f2_xf['id']}/timeline", h.inspector, expect=200)
    assert at(timeline[0]["at"]) == local(START + timedelta(days=1), 10)  # recorded
    assert at(timeline[-1]["at"]) == at((await refreshed(h, f2_xf))["verified_at"])
    assert len(timeline) >= 6  # recorded, released, submitted, rejected, submitted, verified
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)


async def test_a_working_day_cycle_skips_national_day_and_counts_the_make_up_saturday(inspection: Inspection) -> None:
    """2026: 10-01..10-07 off, Saturday 10-10 a working day. Covert from Wednesday 09-16 for 14 calendar days
    (to 09-30 00:00); 14 working days after 09-29 are 09-30, 10-08, 10-09, 10-10 (Sat), 10-12..16, 10-19..23:
    the cycle closes 10-24 00:00. Counting weekdays only it would be 10-27; ignoring the make-up day, 10-26."""
    h = inspection
    h.clock.set(local(date(2026, 9, 15), 10))
    await h.ok("POST", "/v1/units", h.inspector, expect=201,
               json={"id": "AY", "name": "安阳街道", "kind": "township", "contact": "0577-65811111"})
    cycle = await h.ok("POST", "/v1/cycles", h.inspector, expect=201, json={
        "id": "C-2026-19", "name": "2026年第19期", "start_date": "2026-09-16", "unit_ids": ["AY"],
        "day_basis": "working"})
    assert at(cycle["covert_ends_at"]) == local(date(2026, 9, 30))
    assert at(cycle["closes_at"]) == local(date(2026, 10, 24))
    await h.advance_to(local(date(2026, 9, 17), 10))
    for fid, place in [("W1", "安阳菜市场"), ("W2", "万松路12号")]:
        await h.ok("POST", "/v1/findings", h.inspector, expect=201, json={
            "id": fid, "cycle_id": "C-2026-19", "township_unit_id": "AY", "category": "fire", "place": place,
            "description": "灭火器过期"})
    await h.advance_to(local(date(2026, 9, 30), 10))
    await h.wait_phase("C-2026-19", "rectification")
    w1, w2 = await task_by(h, "AY", "安阳菜市场"), await task_by(h, "AY", "万松路12号")
    assert (w1["day_basis"], at(w1["deadline"])) == ("working", local(date(2026, 10, 24)))
    # listed for 5 working days from 09-30: 10-08, 10-09, 10-10 (Sat), 10-12, 10-13 → due at the end of 10-13
    listed = await h.ok("PUT", f"/v1/tasks/{w2['id']}/listing", h.inspector, expect=200,
                        json={"days": 5, "note": "节后限期"})
    assert at(listed["deadline"]) == local(date(2026, 10, 14))

    # reminders (催办) at 09:00 count working days too: 3 left on Friday 10-09 (10-10 Sat, 10-12, 10-13), 1 left
    # on 10-12 (a calendar count would say 3 left on Saturday 10-10)
    await h.advance_to(local(date(2026, 10, 9), 9, 1))
    await h.until(lambda: reminders_for(h, w2["id"]), "the first reminder")
    await h.advance_to(local(date(2026, 10, 12), 9, 1))
    await h.until(lambda: _two(reminders_for(h, w2["id"])), "the second reminder")
    assert await reminders_for(h, w2["id"]) == [(date(2026, 10, 9), 3), (date(2026, 10, 12), 1)]

    await h.advance_to(local(date(2026, 10, 13), 23, 59))
    await h.drained()
    assert (await refreshed(h, w2))["overdue_at"] is None
    await h.advance_to(local(date(2026, 10, 14), 0, 1))
    await wait_overdue(h, w2)
    await h.advance_to(local(date(2026, 10, 23), 23, 59))
    await h.drained()
    assert (await refreshed(h, w1))["overdue_at"] is None
    assert (await h.cycle("C-2026-19"))["phase"] == "rectification"
    await h.advance_to(local(date(2026, 10, 24), 0, 1))
    await wait_overdue(h, w1)
    await h.wait_phase("C-2026-19", "closed")


async def reminders_for(h: Inspection, task_id: str) -> list[tuple[date, int]]:
    """(local day, days left) of each reminder of a task, from what the service enqueued."""
    return [(datetime.fromisoformat(e["payload"]["at"]).astimezone(ZONE).date(), e["payload"]["days_left"])
            for e in await h.outbox()
            if e["type"] == "inspection.task-reminder" and e["payload"]["task_id"] == task_id]


async def _two(reminders: Any) -> bool:
    return len(await reminders) >= 2


async def test_a_cycle_that_asks_for_it_is_followed_by_the_next(inspection_factory: Any) -> None:
    h = await inspection_factory(FixedClock(local(date(2026, 3, 1), 10)))
    await h.ok("POST", "/v1/units", h.inspector, expect=201,
               json={"id": "AY", "name": "安阳街道", "kind": "township", "contact": "x"})
    await h.ok("POST", "/v1/cycles", h.inspector, expect=201, json={
        "id": "C-auto", "name": "2026年第6期", "start_date": "2026-03-02", "unit_ids": ["AY"], "auto_next": True})
    await h.advance_to(CLOSE + timedelta(minutes=1))
    await h.wait_phase("C-auto", "closed")

    async def successor() -> list[dict[str, Any]]:
        return [c for c in await h.all_pages("/v1/cycles", h.inspector) if c["id"] != "C-auto"]
    await h.until(successor, "the next cycle")
    [nxt] = await successor()
    assert nxt["start_date"] == "2026-03-30" and nxt["unit_ids"] == ["AY"] and nxt["phase"] == "covert"


async def test_consumed_events_duplicated_and_reordered_change_nothing(inspection: Inspection) -> None:
    """A patrol hazard becomes one 24-hour task however often it is delivered or re-sent; the alerts service's
    lifecycle of its overdue alert, delivered shuffled and twice, ends as the newest sequence says."""
    h = inspection
    await h.ok("POST", "/v1/units", h.inspector, expect=201,
               json={"id": "AY", "name": "安阳街道", "kind": "township", "contact": "x"})
    reported = h.clock.now() - timedelta(hours=1)
    patrol = EventFactory("patrol", h.clock, h.platform.kafka_topic_prefix)

    def hazard() -> tuple[str, Envelope]:
        return patrol.make(HAZARD_REPORTED, HazardReportedV1(
            hazard_id="H-1", team_id="一队", member_id="张三", category="fire", description="电动车楼道充电",
            place="安阳新村5幢", unit_id="AY", reported_at=reported, received_at=h.clock.now()), key="H-1")

    first, resent = hazard(), hazard()  # the same report sent twice: two events, one hazard id
    await h.publish([first, first, resent, first])

    async def hazard_tasks() -> list[dict[str, Any]]:
        return await h.all_pages("/v1/tasks", h.unit("AY"))
    await h.until(hazard_tasks, "the hazard's task")
    await h.drained()
    [task] = await hazard_tasks()
    assert task["origin"] == "hazard" and at(task["deadline"]) == reported + timedelta(hours=24)

    await h.advance_to(reported + timedelta(hours=24, minutes=1))
    await wait_overdue(h, task)
    dedup = f"inspection:task:{task['id']}:overdue"
    alerts = EventFactory("alerts", h.clock, h.platform.kafka_topic_prefix)
    source = SourceLink(service="inspection", entity_type="task", entity_id=task["id"])
    common = {"alert_id": "A-1", "dedup_key": dedup, "kind": "inspection.task-overdue", "unit_id": "AY",
              "source": source, "at": h.clock.now()}
    lifecycle = [
        alerts.make(ALERT_RAISED, AlertRaisedV1(**common, severity=Severity.MEDIUM, summary="逾期", policy="p"),
                    key=dedup),
        alerts.make(ALERT_ESCALATED, AlertEscalatedV1(**common, step=0, label="通报"), key=dedup),
        alerts.make(ALERT_ESCALATED, AlertEscalatedV1(**common, step=1, label="挂牌督办"), key=dedup),
        alerts.make(ALERT_ACKNOWLEDGED, AlertAcknowledgedV1(**common, by="督查室"), key=dedup),
        alerts.make(ALERT_RESOLVED, AlertResolvedV1(**common, by="督查室", reason="已整改"), key=dedup),
    ]
    sequenced = [(topic, env.model_copy(update={"sequence": n})) for n, (topic, env) in enumerate(lifecycle, 1)]
    raised, step0, step1, acked, resolved = sequenced
    await h.publish([resolved, step1, raised, step0, step1, acked, raised, resolved])

    async def settled() -> Any:
        now = await refreshed(h, task)
        return len(now["accountability"]) == 2 and now["alert_status"] == "resolved" and now
    await h.until(settled, "accountability recorded and the alert resolved")
    await h.drained()
    final = await refreshed(h, task)
    assert sorted((a["step"], a["label"], a["loop"], a["alert_id"]) for a in final["accountability"]) == [
        (0, "通报", 0, "A-1"), (1, "挂牌督办", 0, "A-1")]
    assert final["alert_status"] == "resolved"
    mine = await h.ok("GET", f"/v1/tasks/{task['id']}", h.unit("AY"), expect=200)
    assert [a["label"] for a in sorted(mine["accountability"], key=lambda a: a["step"])] == ["通报", "挂牌督办"]
    overdue = [e for e in await h.outbox() if e["type"] == "inspection.task-overdue"]
    assert len(overdue) == 1
    opened = [e for e in await h.outbox() if e["type"] == "inspection.task-opened"]
    assert len(opened) == 1
