"""Attendance from patrol scans: the daily tally (a member who scanned on a local day was on duty that day), and
reading it back.

``record_scans`` runs in the scan consumer's batch transaction (``roster.consumers``): the inbox drops a
redelivered scan, and the tally does not need the scans in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import asyncpg

from roster.context import RosterContext
from roster.domain.attendance import ScanFacts, tally_scans
from roster.store import attendance as store
from roster.store.attendance import AttendanceRow


async def record_scans(conn: asyncpg.Connection, ctx: RosterContext, scans: Iterable[ScanFacts]) -> None:
    """Fold a batch of accepted scans into the daily tally, per team member and local day."""
    await store.add_tallies(conn, tally_scans(scans, ctx.zone))


async def daily(
    ctx: RosterContext, *, day: date | None, team_id: str | None, member_id: str | None, limit: int
) -> tuple[int, list[AttendanceRow]]:
    """(the scans counted under the filters, the tally rows): for one member, the total of its rows."""
    async with ctx.runtime.connection() as conn:
        rows = await store.rows(conn, day=day, team_id=team_id, member_id=member_id, limit=limit)
        total = await store.scan_total(conn, day=day, team_id=team_id) if member_id is None else sum(
            r["scan_count"] for r in rows)
    return total, rows
