"""Opening one rectification task (a patrol hazard, or a finding outside a release), or merging it into the
open task of the same unit and hazard key (one open task per pair: the database's unique index decides).

``merge`` is the one way anything joins an open task — a finding at a release, a patrol report, a triage task
assigned to a unit that already has the hazard open: linked and in the task's timeline, the task's severity
raised to the highest merged, and for a task opened by patrol a later patrol sighting's earlier deadline stands
(so two reports of one hazard end the same whichever arrives first; never for a listed or overdue task).

A new task with a unit joins the unit's open notice (one is issued if the unit has none) when ``notice`` is
asked; its deadline and reminders are armed; its timeline starts; ``task-opened`` (and ``notice-issued``) go
through the outbox in the caller's transaction. A task in triage (no unit yet) has no notice, timers or
event until it is assigned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from inspection import deadlines
from inspection.context import InspectionContext
from inspection.domain.calendar import DayBasis
from inspection.store import notices as notice_store
from inspection.store import tasks as task_store
from inspection.store import timeline
from inspection.store.tasks import SEVERITIES
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
    reported_at: datetime | None = None  # a patrol sighting: when it was seen


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
    status = "open" if draft.unit_id is not None else "triage"
    while True:
        row = task_row(draft, task_store.new_task_id(), status, now)
        if await task_store.insert(conn, row):
            break
        assert draft.unit_id is not None  # a triage task (no unit) never clashes
        target = await locked_open_task(conn, draft.unit_id, draft.hazard_key)
        if target is not None:  # (else it was verified in between: try the insert again)
            await merge(conn, ctx.zone, target, draft, now=now, actor=actor)
            return Opened(target["id"], merged=True)

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
        await task_store.set_notices(conn, {task_id: found.id})
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


def task_row(draft: TaskDraft, task_id: str, status: str, now: datetime) -> task_store.TaskRow:
    """The row ``draft`` is stored as."""
    return task_store.TaskRow(
        id=task_id, unit_id=draft.unit_id, origin=draft.origin, finding_id=draft.finding_id,
        hazard_id=draft.hazard_id, cycle_id=draft.cycle_id, notice_id=None, category=draft.category,
        severity=draft.severity, hazard_key=draft.hazard_key, place=draft.place, latitude=draft.latitude,
        longitude=draft.longitude, description=draft.description, evidence=list(draft.evidence), status=status,
        day_basis=draft.day_basis.value, deadline=draft.deadline, opened_at=now,
    )


async def locked_open_task(conn: asyncpg.Connection, unit_id: str, hazard_key: str) -> asyncpg.Record | None:
    """The unit's open task for ``hazard_key``, locked the one way a task is (its timers, then the task), or
    None. A task that was verified or merged while we waited is passed over for the one open now."""
    while True:
        task_id = await task_store.open_task_of(conn, unit_id, hazard_key)
        if task_id is None:
            return None
        row = await task_store.task_for_update(conn, task_id, timer_kinds=deadlines.KINDS)
        if row is not None and row["status"] not in ("verified", "merged"):
            return row


def higher_severity(a: str, b: str) -> str:
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return b if rank.get(b, -1) > rank.get(a, -1) else a


async def merge(conn: asyncpg.Connection, zone: ZoneInfo, target: asyncpg.Record, draft: TaskDraft, *,
                now: datetime, actor: str, detail: dict[str, Any] | None = None) -> None:
    """``draft`` (another sighting of the hazard) joins the open task ``target``, which the caller locked with
    ``locked_open_task``: linked (a finding), in its timeline, its severity raised to the highest merged; a
    patrol sighting's earlier deadline stands for a task opened by patrol that is neither listed nor overdue."""
    if draft.finding_id is not None:
        await task_store.link_findings(conn, [(target["id"], draft.finding_id)])
    entry: dict[str, Any] = {"origin": draft.origin, "description": draft.description,
                             "evidence": list(draft.evidence), **(detail or {})}
    if draft.hazard_id is not None:
        entry["hazard_id"] = draft.hazard_id
    if draft.reported_at is not None:
        entry["reported_at"] = draft.reported_at.isoformat()
    if higher_severity(target["severity"], draft.severity) != target["severity"]:
        entry["severity"] = draft.severity
        await task_store.raise_severity(conn, {target["id"]: draft.severity})
    if (draft.origin == "hazard" and target["origin"] == "hazard" and not target["listed"]
            and target["overdue_at"] is None and draft.deadline < target["deadline"]):
        entry["deadline"] = draft.deadline.isoformat()
        await task_store.update(conn, target["id"], deadline=draft.deadline)
        if target["status"] != "triage":
            await deadlines.arm(conn, target["id"], deadline=draft.deadline, basis=DayBasis(target["day_basis"]),
                                zone=zone, now=now)
    await timeline.record(conn, target["id"], at=now, actor=actor, action="merged", detail=entry)
