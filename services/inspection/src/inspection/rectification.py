"""整改与回访: a unit's rectification, the inspector's revisit, listed supervision (挂牌督办) and the assignment
of a triage task. Each use case runs in the caller's transaction: it locks the task, asks the domain whether
the step is allowed, writes the change, its timeline entry, its events (outbox) and its timers together.

Locks: a step that moves or cancels the task's timers locks them before the task (``store.task_for_update``:
the timer runner's order), so a request and a deadline or reminder firing for the same task wait for each other
instead of deadlocking. A unit's step locks only a task that is the unit's own. A step's time is read before the
lock; a verification that waited for the deadline timer is dated no earlier than the overdue it waited for.

Once overdue a task is not listed by hand (409): the alert ladder escalates it, and its 挂牌督办 step is
recorded on the task as accountability. A triage task assigned to a unit that already has the same hazard open
(also one whose patrol report commits while the assignment runs) merges into that task and ends ``merged``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from inspection import deadlines
from inspection.domain import tasks as rules
from inspection.domain.calendar import PACKAGE_CALENDAR, DayBasis, WorkingCalendar
from inspection.domain.cycles import end_of_day
from inspection.opening import TaskDraft, locked_open_task, merge
from inspection.signals import overdue_signal
from inspection.store import calendar as calendar_store
from inspection.store import tasks as store
from inspection.store import timeline
from inspection.store import units as unit_store
from pingan_shared.directory.doors import signal_place
from pingan_shared.events.alert_contracts import SignalAction
from pingan_shared.events.catalog import TASK_OPENED, TASK_VERIFIED
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.inspection_contracts import TaskOpenedV1, TaskVerifiedV1
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import Invalid, NotFound


class TaskNotFound(NotFound):
    """No such task, or not one the caller may see: the same answer either way."""

    def __init__(self) -> None:
        super().__init__("任务不存在", field="task_id")


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


async def _locked(conn: asyncpg.Connection, task_id: str, *, unit_id: str | None = None,
                  timers: bool = True) -> asyncpg.Record:
    """The task, locked (with its timers first when the step may change them); a unit's own task only."""
    row = await store.task_for_update(conn, task_id, unit_id=unit_id, timer_kinds=deadlines.KINDS if timers else ())
    if row is None:
        raise TaskNotFound()
    return row


async def submit(conn: asyncpg.Connection, task_id: str, *, unit_id: str, text: str, evidence: list[str],
                 step: Step) -> None:
    """The unit says what it rectified, with evidence; the task waits for its revisit."""
    row = await _locked(conn, task_id, unit_id=unit_id, timers=False)
    rules.submit(as_task(row), text=text, evidence=evidence)
    await store.update(conn, task_id, status=rules.TaskStatus.SUBMITTED.value, submitted_at=step.now)
    await store.insert_rectification(conn, task_id, by=str(step.actor), text=text, evidence=evidence, at=step.now)
    await timeline.record(conn, task_id, at=step.now, actor=str(step.actor), action="rectification-submitted",
                          detail={"text": text, "evidence": evidence})


async def revisit(conn: asyncpg.Connection, task_id: str, *, outcome: str, remaining: str, step: Step,
                  evidence: list[str] | None = None) -> None:
    """The inspector's revisit, with its own evidence if any: verified (the task closes; an overdue alert resolves)
    or rejected (back to the unit with what remains, deadline unchanged)."""
    evidence = evidence or []
    row = await _locked(conn, task_id)
    task = as_task(row)
    # Dated no earlier than an overdue that committed while this step waited for the lock.
    now = step.now if row["overdue_at"] is None else max(step.now, row["overdue_at"])
    if outcome == "rejected":
        rules.reject(task, remaining=remaining)
        await store.update(conn, task_id, status=rules.TaskStatus.OPEN.value, submitted_at=None,
                               rejections=row["rejections"] + 1)
        await store.insert_revisit(conn, task_id, inspector=str(step.actor), outcome=outcome, remaining=remaining,
                                   evidence=evidence, at=now)
        await timeline.record(conn, task_id, at=now, actor=str(step.actor), action="revisit-rejected",
                              detail={"remaining": remaining, "deadline": row["deadline"].isoformat(),
                                      "evidence": evidence})
        return
    verified = rules.verify(task, now=now)
    await store.update(conn, task_id, status=verified.status.value, verified_at=now)
    await store.insert_revisit(conn, task_id, inspector=str(step.actor), outcome=outcome, remaining="",
                               evidence=evidence, at=now)
    await deadlines.disarm(conn, task_id)
    on_time = rules.on_time(verified)
    await timeline.record(conn, task_id, at=now, actor=str(step.actor), action="revisit-verified",
                          detail={"on_time": on_time, "evidence": evidence})
    closed = row["notice_id"] is not None and await store.close_notice_if_done(conn, row["notice_id"], now)
    if closed:
        await timeline.record(conn, task_id, at=now, actor="system", action="notice-closed",
                              detail={"notice_id": row["notice_id"], "number": number_of(row)})
    items = [step.events.make(
        TASK_VERIFIED,
        TaskVerifiedV1(task_id=task_id, unit_id=row["unit_id"], deadline=row["deadline"], on_time=on_time,
                       was_overdue=row["overdue_at"] is not None, at=now),
        key=task_id, correlation_id=step.correlation_id,
    )]
    if row["overdue_at"] is not None:
        items.append(overdue_signal(step.events, row, action=SignalAction.RESOLVE, unit_name=row["unit_name"],
                                    notice_number=number_of(row), at=now, correlation_id=step.correlation_id,
                                    where=await signal_place(conn, unit=row["unit_id"])))
    await enqueue(conn, items)


def listing_deadline(*, deadline: date | None, days: int | None, basis: DayBasis, now: datetime,
                     zone: ZoneInfo, calendar: WorkingCalendar = PACKAGE_CALENDAR) -> datetime:
    """挂牌督办's own deadline: the end of the given local day, or of the day ``days`` days (on the task's
    basis) after today."""
    if deadline is not None:
        return end_of_day(deadline, zone)
    assert days is not None
    return end_of_day(calendar.add_days(now.astimezone(zone).date(), days, basis), zone)


async def list_task(conn: asyncpg.Connection, task_id: str, *, deadline: date | None, days: int | None,
                    note: str, step: Step) -> None:
    """Listed supervision: the task gets its own deadline (a date, or a number of days; one of them); its deadline
    and reminder timers move with it. Not an overdue task (409): the alert ladder escalates it."""
    if (deadline is None) == (days is None):
        raise Invalid("请给出期限日期或天数之一（give deadline or days, not both）", field="deadline")
    row = await _locked(conn, task_id)
    task = as_task(row)
    new_deadline = listing_deadline(deadline=deadline, days=days, basis=task.day_basis, now=step.now, zone=step.zone,
                                    calendar=await calendar_store.working_calendar(conn))
    try:
        listed = rules.list_under_supervision(task, deadline=new_deadline, now=step.now)
    except rules.TaskRuleBroken as exc:
        if exc.field == "deadline" and days is not None:  # the request gave days: name them
            raise rules.TaskRuleBroken(exc.reason, field="days", conflict=exc.conflict) from None
        raise
    await store.update(conn, task_id, listed=True, deadline=listed.deadline, listed_note=note or None,
                       listed_from=None if days is None else step.now.astimezone(step.zone).date(), listed_days=days)
    if task.status is not rules.TaskStatus.TRIAGE:
        await deadlines.arm(conn, task_id, deadline=listed.deadline, basis=task.day_basis, zone=step.zone,
                            now=step.now)
    await timeline.record(conn, task_id, at=step.now, actor=str(step.actor), action="listed",
                          detail={"deadline": listed.deadline.isoformat(), "previous_deadline":
                                  row["deadline"].isoformat(), "note": note})


async def assign(conn: asyncpg.Connection, task_id: str, *, unit_id: str, step: Step,
                 causation: Envelope | None = None) -> None:
    """A triage task (a hazard with no known unit) goes to a unit: it opens there, due when it was due; or, when
    the unit already has the same hazard open, it merges into that task (and ends ``merged``)."""
    row = await _locked(conn, task_id)
    assigned = rules.assign(as_task(row), unit_id)
    if not await unit_store.exists(conn, unit_id):
        raise rules.TaskRuleBroken(f"单位 {unit_id} 不存在", field="unit_id", conflict=False)
    while True:
        target = await locked_open_task(conn, unit_id, row["hazard_key"])
        if target is not None:
            await _merge_triage(conn, row, target, unit_id=unit_id, step=step)
            return
        try:
            async with conn.transaction():
                await store.update(conn, task_id, unit_id=unit_id, status=assigned.status.value)
            break
        except asyncpg.UniqueViolationError:
            continue  # a report of the same hazard for the unit committed since we looked: merge into its task
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


async def _merge_triage(conn: asyncpg.Connection, row: asyncpg.Record, target: asyncpg.Record, *, unit_id: str,
                        step: Step) -> None:
    """The triage task ``row`` joins the unit's open task ``target`` (both locked): recorded on both, its
    patrol reports re-pointed there, and it ends ``merged``."""
    draft = TaskDraft(
        unit_id=unit_id, origin=row["origin"], category=row["category"], severity=row["severity"],
        hazard_key=row["hazard_key"], place=row["place"], description=row["description"], deadline=row["deadline"],
        day_basis=DayBasis(row["day_basis"]), latitude=row["latitude"], longitude=row["longitude"],
        evidence=list(row["evidence"]), cycle_id=row["cycle_id"], finding_id=row["finding_id"],
        hazard_id=row["hazard_id"],
    )
    await merge(conn, step.zone, target, draft, now=step.now, actor=str(step.actor), detail={"task_id": row["id"]})
    await store.update(conn, row["id"], unit_id=unit_id, status=rules.TaskStatus.MERGED.value,
                       merged_into_task_id=target["id"])
    await deadlines.disarm(conn, row["id"])
    await store.repoint_hazards(conn, row["id"], target["id"])
    await timeline.record(conn, row["id"], at=step.now, actor=str(step.actor), action="merged-into",
                          detail={"task_id": target["id"], "unit_id": unit_id})
