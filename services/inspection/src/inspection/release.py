"""The release (发布) at the end of a cycle's covert phase: every sealed finding becomes a rectification task
per responsible unit, grouped into each unit's numbered circulated notice (通报).

A bundled finding (township and department) gives one task to each, both linked to it. A finding whose unit
already has an open task of its hazard key (from an earlier cycle, a patrol hazard or another finding of
this cycle) merges into that task, raising its severity to the highest merged. A unit's tasks join its open
notice, or a notice issued now with the year's next number. Everything — tasks, links, notices, timelines,
deadline timers, the findings' release mark, the phase and every event (``task-opened`` per task,
``notice-issued`` per unit, ``cycle-phase-changed``) — is written in the timer's transaction, set-based: one
statement per table.

Called by the ``cycle-phase`` timer with the cycle's row locked; it acts only on a covert cycle.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from inspection import deadlines
from inspection.context import InspectionContext
from inspection.domain.calendar import DayBasis
from inspection.opening import TaskDraft, higher_severity, open_task, task_row
from inspection.store import cycles as cycle_store
from inspection.store import findings as finding_store
from inspection.store import notices as notice_store
from inspection.store import tasks as task_store
from inspection.store import timeline
from inspection.store.cycles import CycleRow
from inspection.store.findings import FindingRow
from pingan_shared.events.catalog import CYCLE_PHASE_CHANGED, NOTICE_ISSUED, TASK_OPENED
from pingan_shared.events.inspection_contracts import CyclePhaseChangedV1, NoticeIssuedV1, TaskOpenedV1
from pingan_shared.messaging.outbox import enqueue

SYSTEM = "system"


@dataclass(frozen=True)
class Released:
    tasks: int
    merged: int
    notices: int


def _draft(finding: FindingRow, unit_id: str, cycle: CycleRow) -> TaskDraft:
    return TaskDraft(
        unit_id=unit_id, origin="finding", category=finding.category, severity=finding.severity,
        hazard_key=finding.hazard_key, place=finding.place, description=finding.description,
        deadline=cycle.closes_at, day_basis=DayBasis(cycle.day_basis), latitude=finding.latitude,
        longitude=finding.longitude, evidence=list(finding.evidence), cycle_id=cycle.id,
        finding_id=finding.id,
    )


def _recorder(finding: FindingRow) -> str:
    """``role:subject``, as the timeline stores actors: a unit is shown the role only (see the timeline API)."""
    return f"{finding.recorded_role}:{finding.recorded_by}"


def _recorded(finding: FindingRow) -> dict[str, Any]:
    return {"finding_id": finding.id, "category": finding.category, "place": finding.place}


async def release_cycle(conn: asyncpg.Connection, ctx: InspectionContext, cycle: CycleRow, *,
                        now: datetime) -> Released:
    if cycle.phase != "covert":
        return Released(0, 0, 0)
    found = await finding_store.of_cycle(conn, cycle.id)
    pairs = [(f, unit) for f in found for unit in (f.township_unit_id, f.department_unit_id) if unit]
    open_before = await task_store.find_open_many(conn, sorted({(u, f.hazard_key) for f, u in pairs}))

    # Which (unit, hazard key) pairs get a new task (its first finding), which findings merge where.
    new: dict[tuple[str, str], task_store.TaskRow] = {}
    drafts: dict[str, tuple[TaskDraft, FindingRow]] = {}
    merges: list[tuple[str, FindingRow, str]] = []  # (task id, finding, unit)
    for finding, unit in pairs:
        key = (unit, finding.hazard_key)
        if key in open_before:
            merges.append((open_before[key], finding, unit))
        elif key in new:
            merges.append((new[key].id, finding, unit))
        else:
            draft = _draft(finding, unit, cycle)
            row = task_row(draft, task_store.new_task_id(), "open", now)
            new[key] = row
            drafts[row.id] = (draft, finding)

    inserted = await task_store.insert_many(conn, list(new.values()))
    # A task that clashed at insert (an open task of its pair committed since we looked, e.g. a patrol
    # hazard): opened one by one, which merges it.
    for row in new.values():
        if row.id not in inserted:
            draft, finding = drafts.pop(row.id)
            opened = await open_task(conn, ctx, draft, now=now, actor=SYSTEM)
            merges = [(opened.task_id if t == row.id else t, f, u) for t, f, u in merges]
    new_rows = [r for r in new.values() if r.id in inserted]

    by_unit: dict[str, list[str]] = defaultdict(list)
    for row in new_rows:
        assert row.unit_id is not None
        by_unit[row.unit_id].append(row.id)
    year = now.astimezone(ctx.zone).year
    notices = await notice_store.open_notices_for(conn, list(by_unit), year=year, cycle_id=cycle.id, now=now)
    await task_store.set_notices(conn, {t: notices[u].id for u, ids in by_unit.items() for t in ids})
    await task_store.link_findings(conn, [(r.id, drafts[r.id][1].id) for r in new_rows]
                                   + [(t, f.id) for t, f, _ in merges])
    # A merged finding raises its task's severity to the highest merged one.
    highest: dict[str, str] = {}
    for task_id, finding, _ in merges:
        highest[task_id] = higher_severity(highest.get(task_id, finding.severity), finding.severity)
    await task_store.raise_severity(conn, highest)
    await finding_store.mark_released(conn, cycle.id, now)

    entries: list[tuple[str, datetime, str, str, dict[str, Any]]] = []
    for row in new_rows:
        finding = drafts[row.id][1]
        entries.append((row.id, finding.recorded_at, _recorder(finding), "recorded", _recorded(finding)))
        entries.append((row.id, now, SYSTEM, "released", {
            "notice_number": notices[row.unit_id or ""].label, "deadline": row.deadline.isoformat()
            if row.deadline else None, "day_basis": row.day_basis}))
    for task_id, finding, _ in merges:
        entries.append((task_id, finding.recorded_at, _recorder(finding), "merged",
                        _recorded(finding) | {"description": finding.description,
                                              "evidence": list(finding.evidence)}))
    await timeline.record_many(conn, entries)

    await deadlines.arm_new(conn, [row.id for row in new_rows], deadline=cycle.closes_at,
                            basis=DayBasis(cycle.day_basis), zone=ctx.zone, now=now)

    outgoing = []
    for row in new_rows:
        assert row.unit_id is not None and row.deadline is not None
        outgoing.append(ctx.events.make(TASK_OPENED, TaskOpenedV1(
            task_id=row.id, unit_id=row.unit_id, cycle_id=cycle.id, notice_number=notices[row.unit_id].label,
            category=row.category, severity=row.severity, deadline=row.deadline, origin="finding"), key=row.id))
    for unit, task_ids in sorted(by_unit.items()):
        notice = notices[unit]
        outgoing.append(ctx.events.make(NOTICE_ISSUED, NoticeIssuedV1(
            notice_id=notice.id, number=notice.label, unit_id=unit, cycle_id=cycle.id, task_ids=task_ids,
            at=now), key=notice.id))
    await cycle_store.mark_released(conn, cycle.id, now)
    outgoing.append(ctx.events.make(CYCLE_PHASE_CHANGED, CyclePhaseChangedV1(
        cycle_id=cycle.id, phase="rectification", at=now, released_tasks=len(new_rows), notices=len(by_unit)),
        key=cycle.id))
    await enqueue(conn, outgoing)
    return Released(tasks=len(new_rows), merged=len(merges), notices=len(by_unit))
