"""Reading rectification tasks (整改任务) within the reader's reach (``inspection.reach``), and a task as it stands
after a step (``inspection.rectification``).

A unit reads only the tasks standing against it, a supervisor with a scope only those of the units its scope
covers, and any other task answers exactly as a task that does not exist (``TaskNotFound``); inspectors, admins
and supervisors without a scope read all. Tasks exist only from the release on, so nothing here can reveal a
sealed finding. A unit never learns who recorded the finding: the task has no recorder fields and the timeline
shows it only the actor's role.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from inspection import reach
from inspection.context import InspectionContext
from inspection.domain.calendar import DayBasis, WorkingCalendar
from inspection.domain.tasks import TaskStatus
from inspection.rectification import TaskNotFound
from inspection.store import alerts as alert_store
from inspection.store import calendar as calendar_store
from inspection.store import tasks as store
from inspection.store import timeline
from pingan_shared.auth import Principal, Role
from pingan_shared.http.paging import Page, page_of


@dataclass(frozen=True)
class TaskView:
    """A task with its accountability records and its overdue alert's state as last applied."""

    task: Mapping[str, Any]  # the task's row (``store.tasks.TASK_COLUMNS`` and its unit's name)
    accountability: list[dict[str, Any]]
    alert_status: str | None
    deadline_provisional: bool  # counted in working days through a year whose notice is not known yet


async def _views(conn: asyncpg.Connection, rows: list[asyncpg.Record], zone: ZoneInfo) -> list[TaskView]:
    ids = [r["id"] for r in rows]
    records = await alert_store.accountability_of(conn, ids)
    statuses = await alert_store.alert_status_of(conn, ids)
    calendar = await calendar_store.working_calendar(conn)
    return [TaskView(r, records[r["id"]], statuses[r["id"]], deadline_provisional(calendar, r, zone))
            for r in rows]


def deadline_provisional(calendar: WorkingCalendar, row: Mapping[str, Any], zone: ZoneInfo) -> bool:
    """Whether the task's deadline was counted in working days through a year the calendar does not know: from its
    opening (or its listing) to its last day, local days."""
    counted_from = row.get("listed_from") or row["opened_at"].astimezone(zone).date()
    last = (row["deadline"] - timedelta(microseconds=1)).astimezone(zone).date()
    return calendar.provisional(counted_from, last, DayBasis(row["day_basis"]))


async def _visible(conn: asyncpg.Connection, task_id: str, principal: Principal) -> asyncpg.Record:
    row = await store.task_row(conn, task_id, units=(await reach.reach_of(conn, principal)).sql)
    if row is None:
        raise TaskNotFound()
    return row


async def list_tasks(ctx: InspectionContext, principal: Principal, *, status: TaskStatus | None,
                     cycle_id: str | None, unit_id: str | None, overdue: bool | None, limit: int,
                     after: str | None) -> Page[TaskView]:
    """Tasks in id order, ``limit`` at a time after ``after``; a unit gets only its own (another unit's id as
    a filter gives an empty page), a scoped supervisor those of its scope (another unit's id as a filter: 403)."""
    async with ctx.runtime.connection() as conn:
        units = reach.listing(await reach.reach_of(conn, principal), principal, unit_id)
        rows = await store.task_rows(conn, units=units, status=status.value if status else None,
                                     cycle_id=cycle_id, overdue=overdue, limit=limit, after=after)
        views = await _views(conn, rows, ctx.zone)
    return page_of(views, limit, lambda v: str(v.task["id"]))


async def get_task(ctx: InspectionContext, principal: Principal, task_id: str) -> TaskView:
    async with ctx.runtime.connection() as conn:
        return (await _views(conn, [await _visible(conn, task_id, principal)], ctx.zone))[0]


def _shown_actor(actor: str) -> str:
    """What a unit sees of who acted: the role only (the covert inspector stays anonymous)."""
    role, sep, _ = actor.partition(":")
    if sep:
        return role
    return actor if actor in ("system", "alerts") else "inspector"


# Timeline details a unit is not shown: who recorded, inspected or reported.
_IDENTIFYING = frozenset({"recorded_by", "recorder", "inspector", "by", "actor", "subject", "finding_id",
                          "finding_ids", "member_id", "team_id"})


async def timeline_of(ctx: InspectionContext, principal: Principal, task_id: str) -> list[dict[str, Any]]:
    """全程留痕: who did what when, from the finding's recording to the task's closure; a unit sees roles only."""
    async with ctx.runtime.connection() as conn:
        await _visible(conn, task_id, principal)
        entries = await timeline.read(conn, task_id)
    if principal.role is Role.UNIT:
        entries = [{**e, "actor": _shown_actor(e["actor"]),
                    "detail": {k: v for k, v in (e["detail"] or {}).items() if k not in _IDENTIFYING}}
                   for e in entries]
    return entries


async def after_step(ctx: InspectionContext, task_id: str,
                     step: Callable[[asyncpg.Connection], Awaitable[None]]) -> TaskView:
    """Run ``step(conn)`` (a use case of ``inspection.rectification``) in one transaction, then read the task as it
    now stands."""
    async with ctx.runtime.connection() as conn:
        async with conn.transaction():
            await step(conn)
        row = await store.task_row(conn, task_id)
        assert row is not None
        return (await _views(conn, [row], ctx.zone))[0]
