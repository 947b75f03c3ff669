"""A whole cycle to its close: the scorecard (JSON and CSV) equals a count made here from the tasks as they
stood at the close; the next cycle opens by itself."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from .conftest import Inspection, local
from .test_release import CLOSES, COVERT_ENDS, UNITS, covert_phase_with_findings


async def task_of(inspection: Inspection, unit_id: str, category: str) -> dict[str, Any]:
    tasks = await inspection.all_pages("/v1/tasks", inspection.inspector, {"unit_id": unit_id})
    return next(t for t in tasks if t["category"] == category)


async def rectify(inspection: Inspection, task: dict[str, Any]) -> None:
    await inspection.ok("POST", f"/v1/tasks/{task['id']}/rectifications", inspection.unit(task["unit_id"]),
                        json={"text": "已整改", "evidence": [f"after:{task['id']}"]})


async def revisit(inspection: Inspection, task: dict[str, Any], outcome: str = "verified") -> None:
    body = {"outcome": outcome, **({"remaining": "仍有杂物"} if outcome == "rejected" else {})}
    await inspection.ok("POST", f"/v1/tasks/{task['id']}/revisits", inspection.inspector, json=body)


def independent_count(tasks: list[dict[str, Any]], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Per unit and per bundled pair, one per (finding, responsible unit), judged by the task that unit has for
    the finding's hazard, from the tasks' own fields (not the service's scoring code); a task's rejections count
    once per row however many findings it holds."""
    def task_for(unit: str, f: dict[str, Any]) -> dict[str, Any]:
        return next(t for t in tasks if t["unit_id"] == unit and t["hazard_key"] == f["hazard_key"])

    def outcome(t: dict[str, Any]) -> str:
        if t["verified_at"] is None:
            return "still_open"
        late = datetime.fromisoformat(t["verified_at"]) >= datetime.fromisoformat(t["deadline"])
        return "rectified_late" if late else "rectified_on_time"

    def add(row: dict[str, int], counted: set[str], result: str, held_in: list[dict[str, Any]]) -> None:
        row["findings"] += 1
        row[result] += 1
        for t in held_in:
            if t["id"] not in counted:
                counted.add(t["id"])
                row["revisit_rejections"] += t["rejections"]

    units: dict[str, dict[str, int]] = {u["id"]: defaultdict(int) for u in UNITS}
    bundles: dict[str, dict[str, int]] = {}
    counted: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        named = [u for u in (f["township_unit_id"], f["department_unit_id"]) if u]
        for unit in named:
            add(units[unit], counted[unit], outcome(task_for(unit, f)), [task_for(unit, f)])
        if len(named) == 2:
            pair = [task_for(u, f) for u in named]
            results = {outcome(t) for t in pair}
            result = next(r for r in ("still_open", "rectified_late", "rectified_on_time") if r in results)
            subject = "+".join(named)
            add(bundles.setdefault(subject, defaultdict(int)), counted[subject], result, pair)
    return {"units": units, "bundles": bundles}


FIGURES = ("findings", "rectified_on_time", "rectified_late", "still_open", "revisit_rejections")


async def test_a_whole_cycle_to_its_scorecard_and_the_next_cycle(inspection: Inspection) -> None:
    await covert_phase_with_findings(inspection, auto_next=True)
    await inspection.advance_to(COVERT_ENDS)
    await inspection.wait_phase("c-1", "rectification")
    too_early = await inspection.client.get("/v1/cycles/c-1/scorecard", headers=inspection.supervisor)
    assert too_early.status_code == 409

    await inspection.advance_to(local(date(2026, 3, 17), 10))
    fire, campus = await task_of(inspection, "U-AY", "fire"), await task_of(inspection, "U-AY", "campus")
    gas_yh, roads = await task_of(inspection, "U-YH", "gas"), await task_of(inspection, "D-YJ", "roads")
    await inspection.ok("PUT", f"/v1/tasks/{roads['id']}/listing", inspection.inspector,
                        json={"deadline": "2026-03-20", "note": "挂牌督办"})
    for task in (fire, campus, gas_yh):
        await rectify(inspection, task)
    await inspection.advance_to(local(date(2026, 3, 18), 10))
    await revisit(inspection, fire)                      # on time
    await revisit(inspection, campus, "rejected")        # back to the unit, then never verified
    await revisit(inspection, gas_yh)                    # on time; its bundle partner D-YJ gas stays open
    await inspection.advance_to(local(date(2026, 3, 25), 10))
    await rectify(inspection, roads)
    await revisit(inspection, roads)                     # after its own listed deadline: late

    await inspection.advance_to(CLOSES)
    closed = await inspection.wait_phase("c-1", "closed")
    assert datetime.fromisoformat(closed["closed_at"]) == CLOSES
    await inspection.advance_to(local(date(2026, 3, 30), 9))

    tasks = await inspection.all_pages("/v1/tasks", inspection.inspector, {"cycle_id": "c-1"})
    findings = await inspection.all_pages("/v1/findings", inspection.inspector, {"cycle_id": "c-1"})
    expected = independent_count(tasks, findings)
    card = await inspection.ok("GET", "/v1/cycles/c-1/scorecard", inspection.supervisor, expect=200)
    assert card["cycle_id"] == "c-1"
    got_units = {r["subject"]: {k: r[k] for k in FIGURES} for r in card["units"]}
    assert got_units == {u: {k: row[k] for k in FIGURES} for u, row in expected["units"].items()}
    got_bundles = {r["subject"]: {k: r[k] for k in FIGURES} for r in card["bundles"]}
    assert got_bundles == {p: {k: row[k] for k in FIGURES} for p, row in expected["bundles"].items()}
    # f1 and f2 (one hazard, one task) are two findings; the campus task's one rejection counts once
    assert got_units["U-AY"] == {"findings": 3, "rectified_on_time": 2, "rectified_late": 0, "still_open": 1,
                                 "revisit_rejections": 1}
    assert got_units["D-YJ"]["rectified_late"] == 1 and got_bundles["U-YH+D-YJ"]["still_open"] == 1
    # ranked across the city: best on-time rate first, ties share a rank
    assert [(r["subject"], r["rank"]) for r in card["units"]] == [("D-ZF", 1), ("U-YH", 1), ("U-AY", 3),
                                                                  ("D-YJ", 4)]

    response = await inspection.client.get("/v1/cycles/c-1/scorecard", params={"format": "csv"},
                                           headers=inspection.inspector)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    rows = [{header.split("(")[-1].rstrip(")"): cell for header, cell in row.items()}  # 排名 (rank) → rank
            for row in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))]
    assert response.content.decode("utf-8-sig").startswith("排名 (rank),考核对象 (subject),")
    assert [r["subject"] for r in rows] == [r["subject"] for r in card["units"] + card["bundles"]]
    for row, source in zip(rows, card["units"] + card["bundles"], strict=True):
        assert {k: int(row[k]) for k in FIGURES} == {k: source[k] for k in FIGURES}
    for who in (inspection.unit("U-AY"), inspection.member()):
        assert (await inspection.client.get("/v1/cycles/c-1/scorecard", headers=who)).status_code == 403
    assert (await inspection.client.get("/v1/cycles/nope/scorecard", headers=inspection.admin)).status_code == 404

    # the next cycle opened by itself: same scope, lengths and basis, from the day c-1 closed
    successor = await inspection.ok("GET", "/v1/cycles/c-2", inspection.inspector, expect=200)
    assert successor["previous_cycle_id"] == "c-1" and successor["name"] == "2026年第2期"
    assert successor["start_date"] == "2026-03-30" and successor["phase"] == "covert" and successor["auto_next"]
    assert sorted(successor["unit_ids"]) == sorted(u["id"] for u in UNITS)
    events = await inspection.all_inspection_events()
    # Kafka orders each key's events, not events of different keys (c-1 and c-2 may sit on different
    # partitions): a stable sort by key keeps each cycle's own order
    by_cycle = sorted(events["inspection.cycles"], key=lambda e: e["key"])
    assert [(e["key"], e["type"], e["payload"].get("phase")) for e in by_cycle] == [
        ("c-1", "inspection.cycle-opened", None), ("c-1", "inspection.cycle-phase-changed", "rectification"),
        ("c-1", "inspection.cycle-phase-changed", "closed"), ("c-2", "inspection.cycle-opened", None)]
