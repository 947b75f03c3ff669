"""Working days as data (DESIGN.md §5): the State Council's holiday arrangement of a year, loaded by an operator
(``PUT /v1/working-calendar/{year}``, ``pingan calendar load``), decides that year's working days before the
``chinese-calendar`` package, whose release knows only the years published before it.

Loading a year counts again, in the same transaction, every open deadline counted in working days: the close of
each working-day cycle not yet closed (and with it the deadline of its tasks that follow it), and each listed task's
own deadline given in days. One that moves is written with its timers, on the task's timeline (``deadline-recounted``)
and as ``inspection.deadline-moved``; an overdue task keeps its deadline (its alert is out). The same notice loaded
again changes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from inspection import deadlines
from inspection.context import InspectionContext
from inspection.cycles import CYCLE_PHASE
from inspection.domain.calendar import DayBasis, WorkingCalendar
from inspection.domain.cycles import Phase, Schedule, end_of_day, schedule
from inspection.store import calendar as store
from inspection.store import timeline
from pingan_shared.events.catalog import DEADLINE_MOVED
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.inspection_contracts import DeadlineMovedV1
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import Invalid, NotFound
from pingan_shared.timers import schedule as schedule_timer


async def load_year(ctx: InspectionContext, year: int, *, holidays: list[date], workdays: list[date], notice: str,
                    by: str) -> dict[str, Any]:
    """Keep ``year``'s notice and count its deadlines again; what moved, in the answer."""
    outside = [d for d in [*holidays, *workdays] if d.year != year]
    if outside:
        raise Invalid(f"{outside[0]} 不在 {year} 年 (every day of the notice lies in {year})", "body.holidays"
                      if outside[0] in holidays else "body.workdays")
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise Invalid(f"{both[0]} 不能既放假又上班 (a day is either off or on)", "body.workdays")
    now = ctx.now()
    async with ctx.runtime.connection() as conn, conn.transaction():
        changed = await store.put_year(conn, year, holidays=holidays, workdays=workdays, notice=notice, by=by,
                                       at=now)
        moved = await recount(conn, ctx, year) if changed else []
    return {"year": year, "source": "loaded", "changed": changed, "moved": moved, **_arrangement(holidays, workdays)}


async def recount(conn: asyncpg.Connection, ctx: InspectionContext, year: int) -> list[dict[str, Any]]:
    calendar = await store.working_calendar(conn)
    now = ctx.now()
    moved: list[dict[str, Any]] = []
    events: list[tuple[str, Envelope]] = []

    def announce(entity_type: str, entity_id: str, unit_id: str | None, previous: Any, deadline: Any) -> None:
        moved.append({"entity_type": entity_type, "id": entity_id, "previous": previous.isoformat(),
                      "deadline": deadline.isoformat()})
        events.append(ctx.events.make(DEADLINE_MOVED, DeadlineMovedV1(
            entity_type=entity_type, entity_id=entity_id, unit_id=unit_id, previous=previous, deadline=deadline,
            year=year, at=now), key=entity_id))

    for cycle in await store.open_working_cycles(conn):
        plan = schedule(cycle["start_date"], cycle["covert_days"], cycle["rectification_days"], DayBasis.WORKING,
                        ctx.zone, calendar)
        previous = cycle["closes_at"]
        if plan.closes_at == previous:
            continue
        try:
            async with conn.transaction():
                await store.move_cycle_close(conn, cycle["id"], plan.closes_at)
        except asyncpg.ExclusionViolationError:  # a unit's next cycle starts before the new close: keep it
            moved.append({"entity_type": "cycle", "id": cycle["id"], "previous": previous.isoformat(),
                          "refused": "单位的下一周期已开始 (a unit's next cycle starts before the new close)"})
            continue
        change = Schedule(cycle["starts_at"], cycle["covert_ends_at"], plan.closes_at).next_change(
            Phase(cycle["phase"]))
        if change is not None:
            await schedule_timer(conn, CYCLE_PHASE, cycle["id"], change)
        announce("cycle", cycle["id"], None, previous, plan.closes_at)
        for task in await store.tasks_following(conn, cycle["id"], previous):
            await _move_task(conn, ctx, task, plan.closes_at, calendar, year, now)
            announce("task", task["id"], task["unit_id"], previous, plan.closes_at)
    for task in await store.listed_in_days(conn):
        deadline = end_of_day(calendar.add_days(task["listed_from"], task["listed_days"], DayBasis.WORKING),
                              ctx.zone)
        if deadline != task["deadline"]:
            await _move_task(conn, ctx, task, deadline, calendar, year, now)
            announce("task", task["id"], task["unit_id"], task["deadline"], deadline)
    await enqueue(conn, events)
    return moved


async def _move_task(conn: asyncpg.Connection, ctx: InspectionContext, task: asyncpg.Record, deadline: Any,
                     calendar: WorkingCalendar, year: int, now: Any) -> None:
    await store.move_deadline(conn, task["id"], deadline)
    await deadlines.arm(conn, task["id"], deadline=deadline, basis=DayBasis.WORKING, zone=ctx.zone, now=now,
                        calendar=calendar)
    await timeline.record(conn, task["id"], at=now, actor="system", action="deadline-recounted", detail={
        "previous_deadline": task["deadline"].isoformat(), "deadline": deadline.isoformat(), "year": year})


async def year_of(ctx: InspectionContext, year: int) -> dict[str, Any]:
    """A year's arrangement as the service counts with it: loaded (with its notice), the package's, or none
    (weekdays only: deadlines through it are provisional)."""
    async with ctx.runtime.connection() as conn:
        row = await store.get_year(conn, year)
    if row is not None:
        return {"year": year, "source": "loaded", "notice": row["notice"], "loaded_by": row["loaded_by"],
                "loaded_at": row["loaded_at"].isoformat(), **_arrangement(row["holidays"], row["workdays"])}
    if WorkingCalendar().knows(year):
        return {"year": year, "source": "package"}
    raise NotFound(f"{year} 年的节假日安排尚未载入 (no holiday notice for {year}: deadlines through it count "
                   "weekdays and are provisional)", "year")


def _arrangement(holidays: list[date], workdays: list[date]) -> dict[str, list[str]]:
    return {"holidays": [d.isoformat() for d in sorted(holidays)],
            "workdays": [d.isoformat() for d in sorted(workdays)]}
