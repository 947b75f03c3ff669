"""SQL for presence and no-shows (``shift_presence``), read beside the roster's shifts and assignments.

Lock order: a use case that touches both takes the ``timers`` rows first and the ``shift_presence`` rows
after (the timer runner holds its timer row when its handler locks the presence row), so a publish that
re-arms checks and a check firing never wait on each other in opposite orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

PRESENCE_COLUMNS = ("shift_id, member_id, present_at, source, scans, checked_in_at, checked_in_by, no_show_at, "
                    "resolved_at")


async def shift_assignees(conn: asyncpg.Connection, shift_ids: Sequence[str]) -> list[asyncpg.Record]:
    """Each shift of ``shift_ids`` with each member on it now (member_id NULL for a shift with nobody)."""
    return await conn.fetch(
        """
        SELECT s.shift_id, s.status, s.starts_at, s.ends_at, a.member_id
        FROM shifts s LEFT JOIN shift_assignments a ON a.shift_id = s.shift_id
        WHERE s.shift_id = ANY($1::text[])
        ORDER BY s.shift_id, a.member_id
        """,
        list(shift_ids),
    )


async def cancel_timers(conn: asyncpg.Connection, kind: str, keys: Sequence[str]) -> None:
    """``pingan_shared.timers.cancel()`` for many keys of one kind at once, in one statement."""
    if not keys:
        return
    await conn.execute(
        "UPDATE timers SET status = 'cancelled' WHERE kind = $1 AND timer_key = ANY($2::text[]) AND status = 'pending'",
        kind, list(keys))


async def ensure_rows(conn: asyncpg.Connection, pairs: Sequence[tuple[str, str]]) -> None:
    if not pairs:
        return
    await conn.execute(
        """
        INSERT INTO shift_presence (shift_id, member_id)
        SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1, 2
        ON CONFLICT DO NOTHING
        """,
        [s for s, _ in pairs], [m for _, m in pairs],
    )


async def checked_members(conn: asyncpg.Connection, shift_ids: Sequence[str]) -> list[asyncpg.Record]:
    """Every (shift, member) whose presence was ever checked on these shifts: the keys of their timers."""
    return await conn.fetch(
        "SELECT shift_id, member_id FROM shift_presence WHERE shift_id = ANY($1::text[]) ORDER BY 1, 2",
        list(shift_ids),
    )


async def forget_untouched(conn: asyncpg.Connection, pairs: Sequence[tuple[str, str]]) -> None:
    """Drop the rows of members taken off a shift before anything happened to them (no presence, no no-show);
    a row with a record stays, as history."""
    if not pairs:
        return
    await conn.execute(
        """
        DELETE FROM shift_presence p USING unnest($1::text[], $2::text[]) AS gone(shift_id, member_id)
        WHERE p.shift_id = gone.shift_id AND p.member_id = gone.member_id
          AND p.present_at IS NULL AND p.no_show_at IS NULL
        """,
        [s for s, _ in pairs], [m for _, m in pairs],
    )


async def scan_matches(
    conn: asyncpg.Connection, scans: Sequence[tuple[str, str, datetime]], *, early: timedelta
) -> list[asyncpg.Record]:
    """Which published shift each (team, app member id, time) scan is presence on: the member is the one whose
    patrol team and app id the scan carries (a member without an app id is known by their member id; a member
    of no team — a police officer walking with a village team — by the team the shift names), and the shift is
    one of theirs whose window (``early`` before the start to the end) holds the scan's time.
    One row per (shift, member): the earliest such scan and how many there were."""
    if not scans:
        return []
    return await conn.fetch(
        """
        SELECT a.shift_id, m.member_id, min(i.at) AS first_at, count(*)::int AS scans
        FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS i(team_id, app_id, at)
        JOIN members m ON coalesce(m.app_member_id, m.member_id) = i.app_id
        JOIN shift_assignments a ON a.member_id = m.member_id
        JOIN shifts s ON s.shift_id = a.shift_id
        WHERE (m.team_id = i.team_id OR (m.team_id IS NULL AND s.team_id = i.team_id))
          AND s.status = 'published' AND i.at >= s.starts_at - $4::interval AND i.at <= s.ends_at
        GROUP BY a.shift_id, m.member_id
        ORDER BY a.shift_id, m.member_id
        """,
        [t for t, _, _ in scans], [a for _, a, _ in scans], [at for _, _, at in scans], early,
    )


async def presence_for_update(conn: asyncpg.Connection, shift_id: str, member_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {PRESENCE_COLUMNS} FROM shift_presence WHERE shift_id = $1 AND member_id = $2 FOR UPDATE",
        shift_id, member_id,
    )


async def update_presence(conn: asyncpg.Connection, shift_id: str, member_id: str, **values: Any) -> None:
    columns = list(values)
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=3))
    await conn.execute(
        f"UPDATE shift_presence SET {assignments} WHERE shift_id = $1 AND member_id = $2",
        shift_id, member_id, *values.values(),
    )


async def shift_member(conn: asyncpg.Connection, shift_id: str, member_id: str) -> asyncpg.Record | None:
    """A shift with what a check or a signal needs about one member on it (assigned: whether they are on it now)."""
    return await conn.fetchrow(
        """
        SELECT s.shift_id, s.period_id, s.status, s.kind, s.title, s.area, s.route_id,
               coalesce(s.team_id, m.team_id) AS team_id, s.starts_at, s.ends_at,
               m.member_id, m.name AS member_name,
               EXISTS (SELECT 1 FROM shift_assignments a WHERE a.shift_id = s.shift_id AND a.member_id = m.member_id)
                   AS assigned
        FROM shifts s CROSS JOIN members m
        WHERE s.shift_id = $1 AND m.member_id = $2
        """,
        shift_id, member_id,
    )


async def presence_of_shift(conn: asyncpg.Connection, shift_id: str) -> list[asyncpg.Record]:
    """Everyone on the shift now, with their presence record (NULL columns: not checked yet)."""
    return await conn.fetch(
        f"""
        SELECT a.member_id, m.name, {', '.join('p.' + c for c in PRESENCE_COLUMNS.split(', ')[2:])}
        FROM shift_assignments a JOIN members m ON m.member_id = a.member_id
        LEFT JOIN shift_presence p ON p.shift_id = a.shift_id AND p.member_id = a.member_id
        WHERE a.shift_id = $1 ORDER BY a.member_id
        """,
        shift_id,
    )


async def backfill_from_tallies(
    conn: asyncpg.Connection, pairs: Sequence[tuple[str, str]], *, early: timedelta, zone: str
) -> int:
    """Presence for members put on a shift after their scans were consumed (a late publish, a swap in): the
    daily tally (``attendance``) keeps each app member's first and last scan of a local day, and either one
    inside the shift's window proves a scan there. (A first scan before the window and a last after it prove
    nothing: those stay unknown.) Returns how many presences it found."""
    if not pairs:
        return 0
    result = await conn.execute(
        """
        UPDATE shift_presence p SET present_at = found.at, source = 'scan'
        FROM (
            SELECT x.shift_id, x.member_id,
                   min(CASE WHEN t.first_scan_at BETWEEN s.starts_at - $3::interval AND s.ends_at THEN t.first_scan_at
                            WHEN t.last_scan_at BETWEEN s.starts_at - $3::interval AND s.ends_at THEN t.last_scan_at
                       END) AS at
            FROM unnest($1::text[], $2::text[]) AS x(shift_id, member_id)
            JOIN shifts s ON s.shift_id = x.shift_id
            JOIN members m ON m.member_id = x.member_id
            JOIN attendance t ON t.team_id = coalesce(m.team_id, s.team_id)
             AND t.member_id = coalesce(m.app_member_id, m.member_id)
             AND t.day BETWEEN ((s.starts_at - $3::interval) AT TIME ZONE $4)::date
                           AND (s.ends_at AT TIME ZONE $4)::date
            GROUP BY x.shift_id, x.member_id
        ) found
        WHERE p.shift_id = found.shift_id AND p.member_id = found.member_id AND p.present_at IS NULL
          AND found.at IS NOT NULL
        """,
        [s for s, _ in pairs], [m for _, m in pairs], early, zone,
    )
    return int(result.split()[-1])
