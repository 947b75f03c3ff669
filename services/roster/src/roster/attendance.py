"""Attendance from patrol scans: a member who scanned on a local day was on duty that day."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from pingan_shared.events.contracts import ScanAcceptedV2
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import BatchHandler


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """A night patrol at 01:00 Beijing time counts for that local date, not the UTC one."""
    return moment.astimezone(zone).date()


@dataclass(frozen=True)
class AttendanceKey:
    """Whose day it is: a member id is only unique within its team (two teams' 张三 are two people)."""

    team_id: str
    member_id: str
    day: date


@dataclass
class DayTally:
    scans: int
    first: datetime
    last: datetime


def tally_scans(scans: Iterable[ScanAcceptedV2], zone: ZoneInfo) -> dict[AttendanceKey, DayTally]:
    """Fold scans into one tally per team member and local day: what a batch adds to attendance."""
    tallies: dict[AttendanceKey, DayTally] = {}
    for scan in scans:
        key = AttendanceKey(scan.team_id, scan.member_id, local_day(scan.device_time, zone))
        tally = tallies.get(key)
        if tally is None:
            tallies[key] = DayTally(1, scan.device_time, scan.device_time)
        else:
            tally.scans += 1
            tally.first = min(tally.first, scan.device_time)
            tally.last = max(tally.last, scan.device_time)
    return tallies


# What else a batch of accepted scans feeds, in the same transaction: presence on shifts (roster.presence).
ScansHook = Callable[[asyncpg.Connection, Sequence[Any]], Awaitable[object]]


def scans_handler(zone: ZoneInfo, presence: ScansHook | None = None) -> BatchHandler:
    """The consumer's handler for accepted scans: the daily tally, then (``presence``) presence on shifts, in the
    batch's one transaction. The inbox drops a redelivered scan; neither needs the scans in order."""
    async def record_scans(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, BaseModel]]) -> None:
        scans = [payload for _, payload in events if isinstance(payload, ScanAcceptedV2)]
        tallies = tally_scans(scans, zone)
        # one statement per batch; each key appears once, as ON CONFLICT DO UPDATE requires
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
        if presence is not None:
            await presence(conn, scans)

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
