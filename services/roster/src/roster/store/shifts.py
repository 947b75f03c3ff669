"""SQL for shifts and who is on them (the published roster), and the facts a solve or a swap reads."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from roster.domain.problem import nights_in_a_row

SHIFT_COLUMNS = ("s.shift_id, s.period_id, s.duty_id, s.day, s.kind, s.title, s.area, s.route_id, s.team_id, "
                 "s.starts_at, s.ends_at, s.status, s.roster_version")
# What patrol answered for a shift (patrol_answers), shown to people beside the shift.
ANSWER_COLUMNS = "s.patrol_status, s.patrol_problems, s.patrol_answered_at"
# A night duty starts at or after 18:00 or runs past midnight (roster.domain.periods.is_night).
NIGHT_SQL = "(d.start_time >= time '18:00' OR d.end_time <= d.start_time)"


async def get_shift(conn: asyncpg.Connection, shift_id: str, *, lock: bool = False) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {SHIFT_COLUMNS}, {ANSWER_COLUMNS} FROM shifts s WHERE s.shift_id = $1"
        + (" FOR UPDATE" if lock else ""), shift_id)
    return row


async def period_shifts(conn: asyncpg.Connection, period_id: str, *, lock: bool = False) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {SHIFT_COLUMNS} FROM shifts s WHERE s.period_id = $1 ORDER BY s.shift_id"
        + (" FOR UPDATE" if lock else ""), period_id)
    return rows


async def assignees(conn: asyncpg.Connection, shift_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {s: [] for s in shift_ids}
    for r in await conn.fetch("SELECT shift_id, member_id FROM shift_assignments WHERE shift_id = ANY($1)"
                              " ORDER BY shift_id, member_id", shift_ids):
        out[r["shift_id"]].append(r["member_id"])
    return out


async def replace_assignees(conn: asyncpg.Connection, shift_id: str, member_ids: list[str], version: int,
                            source: str, now: datetime) -> None:
    await conn.execute("DELETE FROM shift_assignments WHERE shift_id = $1 AND NOT (member_id = ANY($2))",
                       shift_id, member_ids)
    await conn.execute(
        "INSERT INTO shift_assignments (shift_id, member_id, roster_version, source, assigned_at)"
        " SELECT $1, unnest($2::text[]), $3, $4, $5 ON CONFLICT DO NOTHING",
        shift_id, member_ids, version, source, now)


async def touch(conn: asyncpg.Connection, shift_id: str, now: datetime) -> None:
    """The shift changed (its crew): calendars see the new state by ``updated_at``."""
    await conn.execute("UPDATE shifts SET updated_at = $2 WHERE shift_id = $1", shift_id, now)


async def starts(conn: asyncpg.Connection, shift_ids: list[str]) -> list[asyncpg.Record]:
    """(shift_id, starts_at, status) of these shifts."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT shift_id, starts_at, status FROM shifts WHERE shift_id = ANY($1)", shift_ids)
    return rows


async def set_state(conn: asyncpg.Connection, shift_id: str, status: str, version: int, now: datetime) -> None:
    await conn.execute("UPDATE shifts SET status = $2, roster_version = $3, updated_at = $4 WHERE shift_id = $1",
                       shift_id, status, version, now)


async def list_shifts(
    conn: asyncpg.Connection, *, period_id: str | None, member_id: str | None, team_id: str | None,
    day_from: date | None, day_to: date | None, published_only: bool, after: str | None, limit: int,
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""
        SELECT {SHIFT_COLUMNS}, {ANSWER_COLUMNS},
               coalesce((SELECT array_agg(a.member_id ORDER BY a.member_id) FROM shift_assignments a
                         WHERE a.shift_id = s.shift_id), '{{}}') AS member_ids
        FROM shifts s
        WHERE ($1::text IS NULL OR s.period_id = $1)
          AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM shift_assignments a
                                           WHERE a.shift_id = s.shift_id AND a.member_id = $2))
          AND ($3::text IS NULL OR s.team_id = $3)
          AND ($4::date IS NULL OR s.day >= $4) AND ($5::date IS NULL OR s.day <= $5)
          AND (NOT $6 OR s.status = 'published')
          AND ($7::text IS NULL OR s.shift_id > $7)
        ORDER BY s.shift_id LIMIT $8
        """, period_id, member_id, team_id, day_from, day_to, published_only, after, limit)
    return [dict(r) | {"member_ids": list(r["member_ids"])} for r in rows]


async def member_history(conn: asyncpg.Connection, member_ids: list[str], before: date,
                         since: date) -> tuple[dict[str, int], dict[str, int]]:
    """(nights, duties) per member on published shifts of other periods between ``since`` and ``before``."""
    rows = await conn.fetch(
        f"""SELECT a.member_id, count(*) AS duties, count(*) FILTER (WHERE {NIGHT_SQL}) AS nights
            FROM shift_assignments a JOIN shifts s USING (shift_id)
                 JOIN duties d ON d.period_id = s.period_id AND d.duty_id = s.duty_id
            WHERE a.member_id = ANY($1) AND s.status = 'published' AND s.day < $2 AND s.day >= $3
            GROUP BY a.member_id""", member_ids, before, since)
    return ({r["member_id"]: r["nights"] for r in rows}, {r["member_id"]: r["duties"] for r in rows})


async def nights_before(conn: asyncpg.Connection, member_ids: list[str], start: date, window: int) -> dict[str, int]:
    """Nights in a row each member served on published shifts ending the day before ``start``."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT a.member_id, s.day FROM shift_assignments a JOIN shifts s USING (shift_id)
            JOIN duties d ON d.period_id = s.period_id AND d.duty_id = s.duty_id
            WHERE a.member_id = ANY($1) AND s.status = 'published' AND {NIGHT_SQL} AND s.day < $2 AND s.day >= $3""",
        member_ids, start, start - timedelta(days=window))
    days: dict[str, set[date]] = {}
    for r in rows:
        days.setdefault(r["member_id"], set()).add(r["day"])
    return nights_in_a_row(days, start)


async def held_shifts(conn: asyncpg.Connection, member_id: str, day_from: date, day_to: date) -> list[asyncpg.Record]:
    """The published shifts ``member_id`` is on between two days, with their duties' facts."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT s.shift_id, s.day, s.period_id, s.duty_id FROM shift_assignments a JOIN shifts s USING (shift_id)
           WHERE a.member_id = $1 AND s.status = 'published' AND s.day BETWEEN $2 AND $3 ORDER BY s.day""",
        member_id, day_from, day_to)
    return rows


async def period_count(conn: asyncpg.Connection, member_id: str, period_id: str) -> int:
    n: int = await conn.fetchval(
        """SELECT count(*) FROM shift_assignments a JOIN shifts s USING (shift_id)
           WHERE a.member_id = $1 AND s.period_id = $2 AND s.status = 'published'""", member_id, period_id)
    return n


async def on_crew(conn: asyncpg.Connection, shift_id: str, member_id: str) -> bool:
    """Whether the member is on the shift now."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM shift_assignments WHERE shift_id = $1 AND member_id = $2)", shift_id, member_id))


# --- patrol's answers ---------------------------------------------------------------------------------------

async def patrol_answer_for_update(conn: asyncpg.Connection, shift_id: str) -> asyncpg.Record | None:
    """The shift with what patrol answered for it, locked."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {SHIFT_COLUMNS}, {ANSWER_COLUMNS}, s.patrol_sequence, s.not_planned_alerted_at FROM shifts s"
        " WHERE s.shift_id = $1"
        " FOR UPDATE", shift_id)
    return row


async def record_patrol_answer(conn: asyncpg.Connection, shift_id: str, *, status: str,
                               problems: list[dict[str, Any]] | None, sequence: int | None, at: datetime) -> None:
    await conn.execute(
        "UPDATE shifts SET patrol_status = $2, patrol_problems = $3, patrol_sequence = $4, patrol_answered_at = $5"
        " WHERE shift_id = $1", shift_id, status, problems, sequence, at)


async def set_not_planned_alerted(conn: asyncpg.Connection, shift_id: str, at: datetime | None) -> None:
    await conn.execute("UPDATE shifts SET not_planned_alerted_at = $2 WHERE shift_id = $1", shift_id, at)


async def alerted_not_planned(conn: asyncpg.Connection, shift_ids: list[str]) -> list[asyncpg.Record]:
    """Those of the shifts whose "not planned in patrol" alert is out, locked."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {SHIFT_COLUMNS} FROM shifts s WHERE s.shift_id = ANY($1::text[])"
        " AND s.not_planned_alerted_at IS NOT NULL FOR UPDATE", shift_ids)
    return rows


async def refused_in_period(conn: asyncpg.Connection, period_id: str) -> list[asyncpg.Record]:
    """The period's published shifts patrol refused, by start."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {SHIFT_COLUMNS}, {ANSWER_COLUMNS} FROM shifts s WHERE s.period_id = $1 AND s.patrol_status = 'refused'"
        " AND s.status = 'published' ORDER BY s.starts_at, s.shift_id", period_id)
    return rows
