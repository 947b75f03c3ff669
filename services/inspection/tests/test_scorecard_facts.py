"""What a cycle's scorecard counts, over the real database and broker with a controlled clock: every finding the
cycle recorded, once per responsible unit, with the outcome of whichever task it ended up in — also a finding
merged into an older cycle's task, into a patrol hazard's task, or into another finding of the same cycle; a
bundled pair judged by both halves. And a successor that cannot be opened never stops its predecessor closing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from inspection import hazards
from pingan_shared.events.patrol_contracts import HazardReportedV1

from .conftest import Inspection, local

UNITS = [
    {"id": "AY", "name": "安阳街道", "kind": "township", "contact": "张"},
    {"id": "YH", "name": "玉海街道", "kind": "township", "contact": "赵"},
    {"id": "XF", "name": "市消防救援大队", "kind": "department", "contact": "李"},
]
FIGURES = ("findings", "rectified_on_time", "rectified_late", "still_open", "revisit_rejections")


def finding(finding_id: str, cycle_id: str, township: str | None, department: str | None, category: str,
            place: str, severity: str = "medium") -> dict[str, Any]:
    return {"id": finding_id, "cycle_id": cycle_id, "township_unit_id": township, "department_unit_id": department,
            "category": category, "severity": severity, "place": place, "description": f"{place}隐患"}


def short_cycle(cycle_id: str, start: str, **more: Any) -> dict[str, Any]:
    """One covert day, one rectification day."""
    return {"id": cycle_id, "name": f"2026年第{cycle_id[-1]}期", "start_date": start, "covert_days": 1,
            "rectification_days": 1, "unit_ids": [u["id"] for u in UNITS], **more}


async def seed(inspection: Inspection) -> None:
    for unit in UNITS:
        await inspection.ok("POST", "/v1/units", inspection.inspector, json=unit)


async def task_of(inspection: Inspection, unit_id: str, hazard_key: str) -> dict[str, Any]:
    tasks = await inspection.all_pages("/v1/tasks", inspection.inspector, {"unit_id": unit_id})
    return next(t for t in tasks if t["hazard_key"] == hazard_key and t["status"] != "verified")


async def rectify(inspection: Inspection, task: dict[str, Any], outcome: str) -> None:
    await inspection.ok("POST", f"/v1/tasks/{task['id']}/rectifications", inspection.unit(task["unit_id"]),
                        json={"text": "已整改", "evidence": [f"after:{task['id']}"]})
    body = {"outcome": outcome, **({"remaining": "仍有隐患"} if outcome == "rejected" else {})}
    await inspection.ok("POST", f"/v1/tasks/{task['id']}/revisits", inspection.inspector, json=body)


def figures(card: dict[str, Any], part: str) -> dict[str, dict[str, int]]:
    return {r["subject"]: {k: r[k] for k in FIGURES} for r in card[part]}


def row(findings: int, on_time: int = 0, late: int = 0, still_open: int = 0, rejections: int = 0) -> dict[str, int]:
    return {"findings": findings, "rectified_on_time": on_time, "rectified_late": late, "still_open": still_open,
            "revisit_rejections": rejections}


async def test_every_finding_of_the_cycle_counts_wherever_it_merged(inspection: Inspection) -> None:
    await seed(inspection)
    await inspection.ok("POST", "/v1/cycles", inspection.inspector, json=short_cycle("a-1", "2026-03-02"))
    await inspection.ok("POST", "/v1/cycles", inspection.inspector, json=short_cycle("b-1", "2026-03-04"))
    # a patrol hazard for YH at 玉海楼: a task with no cycle (B's finding of the same hazard merges into it)
    now = inspection.clock.now()
    report = HazardReportedV1(hazard_id="H-1", team_id="一队", member_id="张三", category="fire",
                              description="消防通道堵塞", place="玉海楼", unit_id="YH", reported_at=now,
                              received_at=now)
    async with inspection.service.runtime.connection() as conn, conn.transaction():
        await hazards.apply_report(conn, report, envelope=None, ctx=inspection.ctx, now=now)

    # cycle A: AY's fire hazard and XF's campus hazard, never verified
    await inspection.advance_to(local(date(2026, 3, 2), 10))
    await inspection.ok("POST", "/v1/findings", inspection.inspector,
                        json=finding("a1", "a-1", "AY", None, "fire", "万松路12号"))
    await inspection.ok("POST", "/v1/findings", inspection.inspector,
                        json=finding("a2", "a-1", None, "XF", "campus", "安阳小学"))
    await inspection.advance_to(local(date(2026, 3, 3)))
    await inspection.wait_phase("a-1", "rectification")
    await inspection.advance_to(local(date(2026, 3, 3), 10))
    await rectify(inspection, await task_of(inspection, "AY", "fire:万松路12号"), "rejected")  # A's rejection
    await inspection.advance_to(local(date(2026, 3, 4)))
    await inspection.wait_phase("a-1", "closed")

    # cycle B records the same hazards again
    await inspection.advance_to(local(date(2026, 3, 4), 10))
    for body in (finding("b1", "b-1", "AY", None, "fire", "万松路12号", "critical"),  # into A's open task
                 finding("b2", "b-1", "YH", None, "gas", "玉海菜场", "low"),
                 finding("b3", "b-1", "YH", None, "gas", "玉海菜场", "critical"),  # into b2's task
                 finding("b4", "b-1", "YH", None, "fire", "玉海楼"),                 # into the patrol's task
                 finding("b5", "b-1", "AY", "XF", "campus", "安阳小学")):           # XF's half into A's task
        await inspection.ok("POST", "/v1/findings", inspection.inspector, json=body)
    await inspection.advance_to(local(date(2026, 3, 5)))
    await inspection.wait_phase("b-1", "rectification")

    # a merged finding raises its task's severity to the highest merged one
    assert (await task_of(inspection, "AY", "fire:万松路12号"))["severity"] == "critical"
    assert (await task_of(inspection, "YH", "gas:玉海菜场"))["severity"] == "critical"

    await inspection.advance_to(local(date(2026, 3, 5), 10))
    await rectify(inspection, await task_of(inspection, "AY", "campus:安阳小学"), "verified")  # AY's half: on time
    await rectify(inspection, await task_of(inspection, "YH", "gas:玉海菜场"), "rejected")  # one rejection, 2 findings
    await inspection.advance_to(local(date(2026, 3, 6)))
    await inspection.wait_phase("b-1", "closed")

    card = await inspection.ok("GET", "/v1/cycles/b-1/scorecard", inspection.supervisor, expect=200)
    assert figures(card, "units") == {
        "AY": row(2, on_time=1, still_open=1),        # b1 lives in A's open task; b5 in its own, verified
        "YH": row(3, still_open=3, rejections=1),     # b2 and b3 in one task, b4 in the patrol's task
        "XF": row(1, still_open=1),                   # b5's department half lives in A's task
    }
    # the pair is open: XF's half never was verified, whatever AY did
    assert figures(card, "bundles") == {"AY+XF": row(1, still_open=1)}

    earlier = await inspection.ok("GET", "/v1/cycles/a-1/scorecard", inspection.supervisor, expect=200)
    assert figures(earlier, "units") == {"AY": row(1, still_open=1, rejections=1), "XF": row(1, still_open=1),
                                         "YH": row(0)}


async def test_a_successor_named_at_the_length_limit_is_opened_with_the_name_cut_to_fit(
    inspection: Inspection,
) -> None:
    await seed(inspection)
    name = "瑞安市平安暗访" * 30
    name = name[:200 - len("第99期")] + "第99期"
    assert len(name) == 200
    await inspection.ok("POST", "/v1/cycles", inspection.inspector,
                        json=short_cycle("L-1", "2026-03-02", name=name, auto_next=True))
    await inspection.advance_to(local(date(2026, 3, 4)))
    closed = await inspection.wait_phase("L-1", "closed", timeout=15)
    assert closed["closed_at"] is not None
    successor = await inspection.ok("GET", "/v1/cycles/L-2", inspection.inspector, expect=200)
    assert successor["name"].endswith("第100期") and len(successor["name"]) == 200
    assert successor["name"][:-len("第100期")] == name[:200 - len("第100期")]


async def test_a_successor_that_cannot_be_opened_does_not_stop_the_close(inspection: Inspection) -> None:
    await seed(inspection)
    # the last plannable start: the successor would start in 2100, which no cycle may
    await inspection.advance_to(local(date(2099, 12, 29), 10))
    await inspection.ok("POST", "/v1/cycles", inspection.inspector,
                        json=short_cycle("Z-1", "2099-12-30", rectification_days=2, auto_next=True))
    await inspection.advance_to(local(date(2100, 1, 2)))
    closed = await inspection.wait_phase("Z-1", "closed", timeout=15)
    assert datetime.fromisoformat(closed["closed_at"]) == local(date(2100, 1, 2))
    card = await inspection.ok("GET", "/v1/cycles/Z-1/scorecard", inspection.supervisor, expect=200)
    assert {r["subject"] for r in card["units"]} == {"AY", "YH", "XF"}
    cycles = await inspection.all_pages("/v1/cycles", inspection.inspector)
    assert [c["id"] for c in cycles] == ["Z-1"]
    async with inspection.db() as conn:
        why = await conn.fetchval("SELECT successor_note FROM cycles WHERE id = 'Z-1'")
    assert why and "2100-01-02" in why  # the start it would have had, and why not
    events = await inspection.outbox()
    assert [(e["type"], e["payload"].get("phase")) for e in events if e["key"] == "Z-1"][-1] == (
        "inspection.cycle-phase-changed", "closed")
