"""Arming a task's deadline and reminder timers (durable, in the caller's transaction).

``task-deadline`` fires once at the deadline (overdue if not verified); ``task-reminder`` fires at each
reminder (催办) and re-arms itself for the next one. Moving a deadline (listed supervision) re-arms both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from inspection.domain.calendar import PACKAGE_CALENDAR, DayBasis, WorkingCalendar
from inspection.domain.reminders import next_reminder
from pingan_shared.timers import cancel, schedule, schedule_many

TASK_DEADLINE = "task-deadline"
TASK_REMINDER = "task-reminder"
KINDS = (TASK_DEADLINE, TASK_REMINDER)  # a task's timers: locked before the task by a change that moves them


async def arm(conn: asyncpg.Connection, task_id: str, *, deadline: datetime, basis: DayBasis, zone: ZoneInfo,
              now: datetime, calendar: WorkingCalendar = PACKAGE_CALENDAR) -> None:
    await schedule(conn, TASK_DEADLINE, task_id, deadline)
    await arm_reminder(conn, task_id, deadline=deadline, basis=basis, zone=zone, after=now, calendar=calendar)


async def arm_new(conn: asyncpg.Connection, task_ids: Sequence[str], *, deadline: datetime, basis: DayBasis,
                  zone: ZoneInfo, now: datetime) -> None:
    """``arm`` for tasks just opened with one deadline (a release): two statements for all of them."""
    reminder = next_reminder(deadline, basis, zone, after=now)
    timers: list[tuple[str, str, datetime, dict[str, int] | None]] = [
        (TASK_DEADLINE, task_id, deadline, None) for task_id in task_ids]
    if reminder is not None:
        moment, days = reminder
        timers += [(TASK_REMINDER, task_id, moment, {"days_left": days}) for task_id in task_ids]
    await schedule_many(conn, timers)


async def arm_reminder(conn: asyncpg.Connection, task_id: str, *, deadline: datetime, basis: DayBasis,
                       zone: ZoneInfo, after: datetime, calendar: WorkingCalendar = PACKAGE_CALENDAR) -> None:
    reminder = next_reminder(deadline, basis, zone, after=after, calendar=calendar)
    if reminder is None:
        await cancel(conn, TASK_REMINDER, task_id)
    else:
        moment, days = reminder
        await schedule(conn, TASK_REMINDER, task_id, moment, {"days_left": days})


async def disarm(conn: asyncpg.Connection, task_id: str) -> None:
    """A verified task needs neither reminders nor an overdue notice."""
    await cancel(conn, TASK_DEADLINE, task_id)
    await cancel(conn, TASK_REMINDER, task_id)
