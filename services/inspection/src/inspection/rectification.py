"""整改与回访: a unit's rectification, the inspector's revisit, listed supervision (挂牌督办) and the assignment
of a triage task. Each use case runs in the caller's transaction: it locks the task, asks the domain whether
the step is allowed, writes the change, its timeline entry, its events (outbox) and its timers together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from inspection import deadlines, timeline
from inspection.domain import tasks as rules
from inspection.domain.calendar import DayBasis, add_days
from inspection.domain.cycles import end_of_day
from inspection.signals import overdue_signal
from inspection.store import tasks as store
from pingan_shared.events.alert_contracts import SignalAction
from pingan_shared.events.catalog import TASK_OPENED, TASK_VERIFIED
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.inspection_contracts import TaskOpenedV1, TaskVerifiedV1
from pingan_shared.messaging.outbox import enqueue


class TaskNotFound(LookupError):
    """No such task, or not one the caller may see: the same answer either way."""


@dataclass(frozen=True)
class Actor:
    """Who acts, as the timeline stores it: ``role:subject``."""

    role: str
    subject: str

    def __str__(self) -> str:
        return f"{self.role}:{self.subject}"


@dataclass(frozen=True)
class Step:
    """What every change needs besides its own arguments."""

    actor: Actor
    now: datetime
    events: EventFactory
    zone: ZoneInfo
    correlation_id: uuid.UUID | None = None


def as_task(row: asyncpg.Record) -> rules.Task:
    return rules.Task(
        id=row["id"], unit_id=row["unit_id"], status=rules.TaskStatus(row["status"]), deadline=row["deadline"],
        day_basis=DayBasis(row["day_basis"]), listed=row["listed"], overdue_at=row["overdue_at"],
        verified_at=row["verified_at"], rejections=row["rejections"],
    )


def number_of(row: asyncpg.Record) -> str | None:
    number: str | None = row["notice_number"]
    return number


async def _locked(conn: asyncpg.Connection, task_id: str, *, unit_id: str | None = None) -> asyncpg.Record:
    row = await store.task_for_update(conn, task_id)
    if row is None or (unit_id is not None and row["unit_id"] != unit_id):
        raise TaskNotFound(task_id)
    return row


async def submit(conn: asyncpg.Connection, task_id: str, *, unit_id: str, text: str, evidence: list[str],
                 step: Step) -> None:
    """The unit says what it rectified, with evidence; the task waits for its revisit."""
    row = await _locked(conn, task_id, unit_id=unit_id)
    rules.submit(as_task(row), text=text, evidence=evidence)
    await store.update(conn, task_id, status=rules.TaskStatus.SUBMITTED.value, submitted_at=step.now)
    await store.insert_rectification(conn, task_id, by=str(step.actor), text=text, evidence=evidence, at=step.now)
    await timeline.record(conn, task_id, at=step.now, actor=str(step.actor), action="rectification-submitted",
                          detail={"text": text, "evidence": evidence})


async def revisit(conn: asyncpg.Connection, task_id: str, *, outcome: str, remaining: str, step: Step) -> None:
    """The inspector's revisit: verified (the task closes; an overdue alert resolves) or rejected (back to the
    unit with what remains, deadline unchanged)."""
    row = await _locked(conn, task_id)
    task = as_task(row)
    if outcome == "rejected":
        rules.reject(task, remaining=remaining)
        await store.update(conn, task_id, status=rules.TaskStatus.OPEN.value, submitted_at=None,
                               rejections=row["rejections"] + 1)
        await store.insert_revisit(conn, task_id, inspector=str(step.actor), outcome=outcome, remaining=remaining,
                                   at=step.now)
        await timeline.record(conn, task_id, at=step.now, actor=str(step.actor), action="revisit-rejected",
                              detail={"remaining": remaining, "deadline": row["deadline"].isoformat()})
        return
    verified = rules.verify(task, now=step.now)
    await store.update(conn, task_id, status=verified.status.value, verified_at=step.now)
    await store.insert_revisit(conn, task_id, inspector=str(step.actor), outcome=outcome, remaining="", at=step.now)
    await deadlines.disarm(conn, task_id)
    on_time = rules.on_time(verified)
    await timeline.record(conn, task_id, at=step.now, actor=str(step.actor), action="revisit-verified",
                          detail={"on_time": on_time})
    closed = row["notice_id"] is not None and await store.close_notice_if_done(conn, row["notice_id"], step.now)
    if closed:
        await timeline.record(conn, task_id, at=step.now, actor="system", action="notice-closed",
                              detail={"notice_id": row["notice_id"], "number": number_of(row)})
    items = [step.events.make(
        TASK_VERIFIED,
        TaskVerifiedV1(task_id=task_id, unit_id=row["unit_id"], deadline=row["deadline"], on_time=on_time,
                       was_overdue=row["overdue_at"] is not None, at=step.now),
        key=task_id, correlation_id=step.correlation_id,
    )]
    if row["overdue_at"] is not None:
        items.append(overdue_signal(step.events, row, action=SignalAction.RESOLVE, unit_name=row["unit_name"],
                                    notice_number=number_of(row), at=step.now, correlation_id=step.correlation_id))
    await enqueue(conn, items)


def listing_deadline(*, deadline: date | None, days: int | None, basis: DayBasis, now: datetime,
                     zone: ZoneInfo) -> datetime:
    """挂牌督办's own deadline: the end of the given local day, or of the day ``days`` days (on the task's
    basis) after today."""
    if deadline is not None:
        return end_of_day(deadline, zone)
    assert days is not None
    return end_of_day(add_days(now.astimezone(zone).date(), days, basis), zone)


async def list_task(conn: asyncpg.Connection, task_id: str, *, deadline: date | None, days: int | None,
                    note: str, step: Step) -> None:
    """Listed supervision: the task gets its own deadline; its deadline and reminder timers move with it."""
    row = await _locked(conn, task_id)
    task = as_task(row)
    new_deadline = listing_deadline(deadline=deadline, days=days, basis=task.day_basis, now=step.now, zone=step.zone)
    try:
        listed = rules.list_under_supervision(task, deadline=new_deadline, now=step.now)
    except rules.TaskRuleBroken as exc:
        if exc.field == "deadline" and days is not None:
            exc.field = "days"
        raise
    await store.update(conn, task_id, listed=True, deadline=listed.deadline, listed_note=note or None)
    if task.status is not rules.TaskStatus.TRIAGE:
        await deadlines.arm(conn, task_id, deadline=listed.deadline, basis=task.day_basis, zone=step.zone,
                            now=step.now)
    await timeline.record(conn, task_id, at=step.now, actor=str(step.actor), action="listed",
                          detail={"deadline": listed.deadline.isoformat(), "previous_deadline":
                                  row["deadline"].isoformat(), "note": note})


async def assign(conn: asyncpg.Connection, task_id: str, *, unit_id: str, step: Step,
                 causation: Envelope | None = None) -> None:
    """A triage task (a hazard with no known unit) goes to a unit: it opens there, due when it was due."""
    row = await _locked(conn, task_id)
    assigned = rules.assign(as_task(row), unit_id)
    if not await conn.fetchval("SELECT 1 FROM units WHERE id = $1", unit_id):
        raise rules.TaskRuleBroken(f"单位 {unit_id} 不存在", field="unit_id", conflict=False)
    clash = await conn.fetchval(
        "SELECT id FROM tasks WHERE unit_id = $1 AND hazard_key = $2 AND status <> 'verified' AND id <> $3",
        unit_id, row["hazard_key"], task_id)
    if clash is not None:
        raise rules.TaskRuleBroken(f"该单位已有同一隐患的未结任务 {clash}", field="unit_id")
    await store.update(conn, task_id, unit_id=unit_id, status=assigned.status.value)
    await deadlines.arm(conn, task_id, deadline=row["deadline"], basis=assigned.day_basis, zone=step.zone,
                        now=step.now)
    await timeline.record(conn, task_id, at=step.now, actor=str(step.actor), action="assigned",
                          detail={"unit_id": unit_id})
    await enqueue(conn, [step.events.make(
        TASK_OPENED,
        TaskOpenedV1(task_id=task_id, unit_id=unit_id, cycle_id=row["cycle_id"], notice_number=number_of(row),
                     category=row["category"], severity=row["severity"], deadline=row["deadline"],
                     origin=row["origin"]),
        key=task_id, causation=causation, correlation_id=step.correlation_id,
    )])
