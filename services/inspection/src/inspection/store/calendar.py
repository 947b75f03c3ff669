"""SQL for the loaded years of the working calendar."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from inspection.domain.calendar import WorkingCalendar, YearArrangement


async def working_calendar(conn: asyncpg.Connection) -> WorkingCalendar:
    """The package's calendar with every loaded year's notice on top (a handful of rows)."""
    rows = await conn.fetch("SELECT year, holidays, workdays FROM working_calendar_years")
    return WorkingCalendar({r["year"]: YearArrangement(frozenset(r["holidays"]), frozenset(r["workdays"]))
                            for r in rows})


async def put_year(conn: asyncpg.Connection, year: int, *, holidays: list[date], workdays: list[date], notice: str,
                   by: str, at: datetime) -> bool:
    """Keep the year's arrangement; False when the same arrangement was loaded already."""
    changed = await conn.fetchval(
        """
        INSERT INTO working_calendar_years (year, holidays, workdays, notice, loaded_by, loaded_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (year) DO UPDATE SET holidays = excluded.holidays, workdays = excluded.workdays,
            notice = excluded.notice, loaded_by = excluded.loaded_by, loaded_at = excluded.loaded_at
        WHERE working_calendar_years.holidays <> excluded.holidays
           OR working_calendar_years.workdays <> excluded.workdays
        RETURNING year
        """,
        year, sorted(holidays), sorted(workdays), notice, by, at,
    )
    return changed is not None


async def get_year(conn: asyncpg.Connection, year: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM working_calendar_years WHERE year = $1", year)
    return row


async def open_working_cycles(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Cycles counted in working days that have not closed, locked: their close may move."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM cycles WHERE day_basis = 'working' AND phase <> 'closed' ORDER BY id FOR UPDATE")
    return rows


async def move_cycle_close(conn: asyncpg.Connection, cycle_id: str, closes_at: datetime) -> None:
    """The cycle's close, and its units' stay in it (a unit is in one cycle at a time: the exclusion constraint
    refuses a move into another cycle of the unit, asyncpg.ExclusionViolationError, for the caller to answer)."""
    await conn.execute("UPDATE cycles SET closes_at = $2 WHERE id = $1", cycle_id, closes_at)
    await conn.execute("UPDATE cycle_units SET period = tstzrange(lower(period), $2) WHERE cycle_id = $1",
                       cycle_id, closes_at)


async def tasks_following(conn: asyncpg.Connection, cycle_id: str, deadline: datetime) -> list[asyncpg.Record]:
    """The cycle's open tasks, not overdue, whose deadline is the cycle's close (not listed with their own),
    locked."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id, unit_id, deadline FROM tasks WHERE cycle_id = $1 AND deadline = $2 AND status <> 'verified'"
        " AND overdue_at IS NULL AND NOT listed ORDER BY id FOR UPDATE", cycle_id, deadline)
    return rows


async def listed_in_days(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Open listed tasks, not overdue, whose own deadline was counted in working days, locked."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id, unit_id, deadline, listed_from, listed_days FROM tasks WHERE listed AND listed_days IS NOT NULL"
        " AND day_basis = 'working' AND status <> 'verified' AND overdue_at IS NULL ORDER BY id FOR UPDATE")
    return rows


async def move_deadline(conn: asyncpg.Connection, task_id: str, deadline: datetime) -> None:
    await conn.execute("UPDATE tasks SET deadline = $2, version = version + 1 WHERE id = $1", task_id, deadline)
