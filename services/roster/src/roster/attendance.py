"""Attendance from patrol scans: a member who scanned on a local day was on duty that day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from pingan_shared.events.contracts import ScanAcceptedV1
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import BatchHandler


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """A night patrol at 01:00 Beijing time counts for that local date, not the UTC one."""
    return moment.astimezone(zone).date()


@dataclass
class _DayTally:
    team_id: str
    scans: int
    first: datetime
    last: datetime


def tally_scans(scans: Iterable[ScanAcceptedV1], zone: ZoneInfo) -> dict[tuple[str, date], _DayTally]:
    """Fold scans into one tally per (member, local day): what a batch adds to attendance."""
    tallies: dict[tuple[str, date], _DayTally] = {}
    for scan in scans:
        key = (scan.member_id, local_day(scan.device_time, zone))
        tally = tallies.get(key)
        if tally is None:
            tallies[key] = _DayTally(scan.team_id, 1, scan.device_time, scan.device_time)
        else:
            tally.scans += 1
            tally.first = min(tally.first, scan.device_time)
            tally.last = max(tally.last, scan.device_time)
    return tallies


def scans_handler(zone: ZoneInfo) -> BatchHandler:
    async def record_scans(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, BaseModel]]) -> None:
        scans = [payload for _, payload in events if isinstance(payload, ScanAcceptedV1)]
        tallies = tally_scans(scans, zone)
        # one statement per batch; each (member, day) appears once, as ON CONFLICT DO UPDATE requires
        await conn.execute(
            """
            INSERT INTO attendance (member_id, day, team_id, scan_count, first_scan_at, last_scan_at)
            SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::int[], $5::timestamptz[], $6::timestamptz[])
            ON CONFLICT (member_id, day) DO UPDATE SET
                scan_count = attendance.scan_count + EXCLUDED.scan_count,
                first_scan_at = LEAST(attendance.first_scan_at, EXCLUDED.first_scan_at),
                last_scan_at = GREATEST(attendance.last_scan_at, EXCLUDED.last_scan_at)
            """,
            [member for member, _ in tallies], [day for _, day in tallies],
            [t.team_id for t in tallies.values()], [t.scans for t in tallies.values()],
            [t.first for t in tallies.values()], [t.last for t in tallies.values()],
        )

    return record_scans


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
