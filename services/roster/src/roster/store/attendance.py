"""SQL for the daily attendance tally (``attendance``): scans per team member and local day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TypedDict, cast

import asyncpg

from roster.domain.attendance import AttendanceKey, DayTally


class AttendanceRow(TypedDict):
    member_id: str
    day: date
    team_id: str
    scan_count: int
    first_scan_at: datetime
    last_scan_at: datetime


async def add_tallies(conn: asyncpg.Connection, tallies: Mapping[AttendanceKey, DayTally]) -> None:
    """Add a batch's tallies, one statement per batch (each key appears once, as ON CONFLICT DO UPDATE requires)."""
    if not tallies:
        return
    await conn.execute(
        """
        INSERT INTO attendance (team_id, member_id, day, scan_count, first_scan_at, last_scan_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::int[], $5::timestamptz[], $6::timestamptz[])
        ON CONFLICT (team_id, day, member_id) DO UPDATE SET
            scan_count = attendance.scan_count + EXCLUDED.scan_count,
            first_scan_at = LEAST(attendance.first_scan_at, EXCLUDED.first_scan_at),
            last_scan_at = GREATEST(attendance.last_scan_at, EXCLUDED.last_scan_at)
        """,
        [k.team_id for k in tallies], [k.member_id for k in tallies], [k.day for k in tallies],
        [t.scans for t in tallies.values()], [t.first for t in tallies.values()],
        [t.last for t in tallies.values()],
    )


async def rows(
    conn: asyncpg.Connection, *, day: date | None, team_id: str | None, member_id: str | None, limit: int
) -> list[AttendanceRow]:
    found = await conn.fetch(
        """
        SELECT member_id, day, team_id, scan_count, first_scan_at, last_scan_at FROM attendance
        WHERE ($1::date IS NULL OR day = $1) AND ($2::text IS NULL OR team_id = $2)
          AND ($3::text IS NULL OR member_id = $3)
        ORDER BY day DESC, team_id, member_id LIMIT $4
        """,
        day, team_id, member_id, limit,
    )
    return [cast(AttendanceRow, dict(r)) for r in found]


async def scan_total(conn: asyncpg.Connection, *, day: date | None, team_id: str | None) -> int:
    total = await conn.fetchval(
        """SELECT coalesce(sum(scan_count), 0) FROM attendance
           WHERE ($1::date IS NULL OR day = $1) AND ($2::text IS NULL OR team_id = $2)""",
        day, team_id,
    )
    return int(total)
