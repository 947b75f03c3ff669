"""inspection's durable timer handlers, each bound to the context in ``handlers()``.

Add a handler to ``HANDLERS`` (kind → ``async (ctx, conn, timer)``). Every handler is idempotent: it re-reads
its row FOR UPDATE and acts only if the state still calls for it (a timer may fire late, after a restart,
or find its work already done).

``task-deadline`` and ``task-reminder`` (key: task id, armed by ``inspection.deadlines``): overdue once at the
deadline, reminders (催办) before it and never once the task is overdue. Their handlers hold their own timer
row (the runner's batch) and then lock the task, never another timer row: a request changing a task's timers
locks them in the same order (``store.tasks.task_for_update``).

``cycle-phase`` (key: cycle id) fires at the covert phase's end (release) and at the close, re-arming
itself for the next change; a cycle whose both changes passed while the service was down is released and
closed by one firing.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from inspection import close, deadlines, release
from inspection.context import InspectionContext
from inspection.cycles import CYCLE_PHASE
from inspection.domain.calendar import DayBasis
from inspection.domain.cycles import Phase, Schedule
from inspection.domain.reminders import last_day
from inspection.domain.tasks import TaskStatus, falls_overdue
from inspection.rectification import as_task
from inspection.signals import overdue_signal
from inspection.store import calendar as calendar_store
from inspection.store import cycles as cycle_store
from inspection.store import tasks as task_store
from inspection.store import timeline
from pingan_shared.directory.doors import signal_place
from pingan_shared.events.alert_contracts import SignalAction
from pingan_shared.events.catalog import TASK_OVERDUE, TASK_REMINDER
from pingan_shared.events.inspection_contracts import TaskOverdueV1, TaskReminderV1
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.timers import Timer, TimerHandler, schedule

BoundHandler = Callable[[InspectionContext, asyncpg.Connection, Timer], Awaitable[None]]


async def on_cycle_phase(ctx: InspectionContext, conn: asyncpg.Connection, timer: Timer) -> None:
    cycle = await cycle_store.get(conn, timer.key, for_update=True)
    if cycle is None:
        return
    now = ctx.now()
    if cycle.phase == "covert" and now >= cycle.covert_ends_at:
        await release.release_cycle(conn, ctx, cycle, now=now)
        cycle = await cycle_store.get(conn, timer.key, for_update=True)
        assert cycle is not None
    if cycle.phase == "rectification" and now >= cycle.closes_at:
        await close.close_cycle(conn, ctx, cycle, now=now)
        return
    next_change = Schedule(cycle.starts_at, cycle.covert_ends_at, cycle.closes_at).next_change(Phase(cycle.phase))
    if next_change is not None:
        await schedule(conn, CYCLE_PHASE, cycle.id, next_change)


# --- a task's deadline (overdue, once) and its reminders (催办) ----------------------------------------------

async def on_task_deadline(ctx: InspectionContext, conn: asyncpg.Connection, timer: Timer) -> None:
    """At the deadline a task not verified is overdue, once: ``inspection.task-overdue`` and the alert signal
    that raises its alert. A timer that finds the deadline moved later (listed supervision) waits for it."""
    row = await task_store.task_for_update(conn, timer.key)
    if row is None or row["status"] == TaskStatus.TRIAGE.value:
        return  # a triage task is armed when it is assigned
    now = ctx.now()
    task = as_task(row)
    if task.is_open and task.overdue_at is None and now < task.deadline:
        await schedule(conn, deadlines.TASK_DEADLINE, task.id, task.deadline)
        return
    if not falls_overdue(task, now=now):
        return  # verified, or overdue already
    await task_store.update(conn, task.id, overdue_at=now)
    await timeline.record(conn, task.id, at=now, actor="system", action="overdue",
                          detail={"deadline": task.deadline.isoformat(), "listed": task.listed})
    overdue = TaskOverdueV1(task_id=task.id, unit_id=row["unit_id"], deadline=task.deadline, listed=task.listed,
                            at=now)
    await enqueue(conn, [
        ctx.events.make(TASK_OVERDUE, overdue, key=task.id),
        overdue_signal(ctx.events, row, action=SignalAction.TRIGGER, unit_name=row["unit_name"],
                       notice_number=row["notice_number"], at=now,
                       where=await signal_place(conn, unit=row["unit_id"])),
    ])


async def on_task_reminder(ctx: InspectionContext, conn: asyncpg.Connection, timer: Timer) -> None:
    """催办: tell the unit how many days (on the task's basis) are left, then arm the next reminder. An overdue
    task is not reminded (the alert ladder escalates it) and its reminders end."""
    row = await task_store.task_for_update(conn, timer.key)
    if (row is None or row["status"] not in (TaskStatus.OPEN.value, TaskStatus.SUBMITTED.value)
            or row["overdue_at"] is not None):
        return
    now = ctx.now()
    basis = DayBasis(row["day_basis"])
    deadline: datetime = row["deadline"]
    calendar = await calendar_store.working_calendar(conn)
    if now < deadline:
        left = calendar.days_left(now.astimezone(ctx.zone).date(), last_day(deadline, ctx.zone).date(), basis)
        await timeline.record(conn, row["id"], at=now, actor="system", action="reminded",
                              detail={"days_left": left, "day_basis": basis.value})
        await enqueue(conn, [ctx.events.make(
            TASK_REMINDER,
            TaskReminderV1(task_id=row["id"], unit_id=row["unit_id"], deadline=deadline, days_left=left,
                           day_basis=basis.value, at=now),
            key=row["id"])])
    await deadlines.arm_reminder(conn, row["id"], deadline=deadline, basis=basis, zone=ctx.zone,
                                 after=max(now, timer.due_at), calendar=calendar)


HANDLERS: dict[str, BoundHandler] = {
    CYCLE_PHASE: on_cycle_phase,
    deadlines.TASK_DEADLINE: on_task_deadline,
    deadlines.TASK_REMINDER: on_task_reminder,
}


def handlers(ctx: InspectionContext) -> dict[str, TimerHandler]:
    return {kind: functools.partial(handler, ctx) for kind, handler in HANDLERS.items()}
