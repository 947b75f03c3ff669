"""Opening one rectification task (a patrol hazard, or a finding outside a release), or merging it into the
open task of the same unit and hazard key (one open task per pair: the database's unique index decides).

A new task with a unit joins the unit's open notice (one is issued if the unit has none) when ``notice`` is
asked; its deadline and reminders are armed; its timeline starts; ``task-opened`` (and ``notice-issued``) go
through the outbox in the caller's transaction. A task in triage (no unit yet) has no notice, timers or
event until it is assigned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from inspection import deadlines, timeline
from inspection.context import InspectionContext
from inspection.domain.calendar import DayBasis
from inspection.store import notices as notice_store
from inspection.store import tasks as task_store
from pingan_shared.events.catalog import NOTICE_ISSUED, TASK_OPENED
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.inspection_contracts import NoticeIssuedV1, TaskOpenedV1
from pingan_shared.messaging.outbox import enqueue


@dataclass(frozen=True)
class TaskDraft:
    unit_id: str | None  # None: triage
    origin: str  # finding | hazard
    category: str
    severity: str
    hazard_key: str
    place: str
    description: str
    deadline: datetime
    day_basis: DayBasis
    latitude: float | None = None
    longitude: float | None = None
    evidence: list[str] = field(default_factory=list)
    cycle_id: str | None = None
    finding_id: str | None = None
    hazard_id: str | None = None


@dataclass(frozen=True)
class Opened:
    task_id: str
    merged: bool  # True: the draft merged into an open task (or its hazard id already had a task)
    notice_number: str | None = None


async def open_task(
    conn: asyncpg.Connection, ctx: InspectionContext, draft: TaskDraft, *, now: datetime, actor: str,
    notice: bool = True, causation: Envelope | None = None, correlation_id: uuid.UUID | None = None,
) -> Opened:
    """Open ``draft`` as a task or merge it into its unit's open task of the same hazard key. Call inside a
    transaction."""
    if draft.hazard_id is not None:
        existing = await task_store.by_hazard_id(conn, draft.hazard_id)
        if existing is not None:
            return Opened(existing, merged=True)
    status = "open" if draft.unit_id is not None else "triage"
    while True:
        row = _row(draft, task_store.new_task_id(), status, now)
        if await task_store.insert(conn, row):
            break
        assert draft.unit_id is not None  # a triage task (no unit) never clashes
        open_one = await task_store.find_open(conn, draft.unit_id, draft.hazard_key, for_update=True)
        if open_one is not None:  # (else it was verified in between: try the insert again)
            await _merge(conn, open_one["id"], draft, now=now, actor=actor)
            return Opened(open_one["id"], merged=True)

    task_id = row.id
    if draft.finding_id is not None:
        await task_store.link_findings(conn, [(task_id, draft.finding_id)])
    await timeline.record(conn, task_id, at=now, actor=actor, action="opened",
                          detail={"origin": draft.origin, "deadline": draft.deadline.isoformat(),
                                  "day_basis": draft.day_basis.value})
    if draft.unit_id is None:
        return Opened(task_id, merged=False)

    outgoing = []
    label: str | None = None
    if notice:
        found = (await notice_store.open_notices_for(conn, [draft.unit_id], year=now.astimezone(ctx.zone).year,
                                                     cycle_id=draft.cycle_id, now=now))[draft.unit_id]
        await task_store.set_notice(conn, [task_id], found.id)
        label = found.label
        outgoing.append(ctx.events.make(NOTICE_ISSUED, NoticeIssuedV1(
            notice_id=found.id, number=label, unit_id=draft.unit_id, cycle_id=draft.cycle_id, task_ids=[task_id],
            at=now), key=found.id, causation=causation, correlation_id=correlation_id))
    await deadlines.arm(conn, task_id, deadline=draft.deadline, basis=draft.day_basis, zone=ctx.zone, now=now)
    outgoing.insert(0, ctx.events.make(TASK_OPENED, task_opened(task_id, draft, label), key=task_id,
                                       causation=causation, correlation_id=correlation_id))
    await enqueue(conn, outgoing)
    return Opened(task_id, merged=False, notice_number=label)


def task_opened(task_id: str, draft: TaskDraft, notice_number: str | None) -> TaskOpenedV1:
    assert draft.unit_id is not None
    return TaskOpenedV1(task_id=task_id, unit_id=draft.unit_id, cycle_id=draft.cycle_id, notice_number=notice_number,
                        category=draft.category, severity=draft.severity, deadline=draft.deadline,
                        origin=draft.origin)


def _row(draft: TaskDraft, task_id: str, status: str, now: datetime) -> task_store.TaskRow:
    return task_store.TaskRow(
        id=task_id, unit_id=draft.unit_id, origin=draft.origin, finding_id=draft.finding_id,
        hazard_id=draft.hazard_id, cycle_id=draft.cycle_id, notice_id=None, category=draft.category,
        severity=draft.severity, hazard_key=draft.hazard_key, place=draft.place, latitude=draft.latitude,
        longitude=draft.longitude, description=draft.description, evidence=list(draft.evidence), status=status,
        day_basis=draft.day_basis.value, deadline=draft.deadline, opened_at=now,
    )


async def _merge(conn: asyncpg.Connection, task_id: str, draft: TaskDraft, *, now: datetime, actor: str) -> None:
    """Another report of the open task's hazard: linked to it and in its timeline; the task keeps its
    deadline and notice."""
    if draft.finding_id is not None:
        await task_store.link_findings(conn, [(task_id, draft.finding_id)])
    detail: dict[str, object] = {"origin": draft.origin, "description": draft.description,
                                 "evidence": list(draft.evidence)}
    if draft.hazard_id is not None:
        detail["hazard_id"] = draft.hazard_id
    await timeline.record(conn, task_id, at=now, actor=actor, action="merged", detail=detail)
