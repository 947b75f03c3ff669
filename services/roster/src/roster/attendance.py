"""Attendance from patrol scans: a member who scanned on a local day was on duty that day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from pingan_shared.events.contracts import ScanAcceptedV1
from pingan_shared.events.envelope import Envelope


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """A night patrol at 01:00 Beijing time counts for that local date, not the UTC one."""
    return moment.astimezone(zone).date()


def scan_handler(zone: ZoneInfo) -> Any:
    async def record_scan(conn: asyncpg.Connection, _: Envelope, payload: BaseModel) -> None:
        assert isinstance(payload, ScanAcceptedV1)
        await conn.execute(
            """
            INSERT INTO attendance (member_id, day, team_id, scan_count, first_scan_at, last_scan_at)
            VALUES ($1, $2, $3, 1, $4, $4)
            ON CONFLICT (member_id, day) DO UPDATE SET
                scan_count = attendance.scan_count + 1,
                first_scan_at = LEAST(attendance.first_scan_at, EXCLUDED.first_scan_at),
                last_scan_at = GREATEST(attendance.last_scan_at, EXCLUDED.last_scan_at)
            """,
            payload.member_id, local_day(payload.device_time, zone), payload.team_id, payload.device_time,
        )

    return record_scan


async def attendance_rows(
    conn: asyncpg.Connection, *, day: date | None, team_id: str | None, member_id: str | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT member_id, day, team_id, scan_count, first_scan_at, last_scan_at FROM attendance
        WHERE ($1::date IS NULL OR day = $1) AND ($2::text IS NULL OR team_id = $2)
          AND ($3::text IS NULL OR member_id = $3)
        ORDER BY day DESC, team_id, member_id LIMIT $4
        """,
        day, team_id, member_id, limit,
    )
    return [dict(r) for r in rows]


async def scan_total(conn: asyncpg.Connection, *, day: date | None, team_id: str | None) -> int:
    total = await conn.fetchval(
        """SELECT coalesce(sum(scan_count), 0) FROM attendance
           WHERE ($1::date IS NULL OR day = $1) AND ($2::text IS NULL OR team_id = $2)""",
        day, team_id,
    )
    return int(total)
