"""SQL for the iCalendar feeds: their tokens (by SHA-256 only) and the shifts a member's or team's feed holds."""

from __future__ import annotations

from datetime import datetime

import asyncpg

# What a calendar event needs of a shift: its times and place, its period's name and (team feeds) who is on it.
_SHIFT_COLUMNS = """
    s.shift_id, s.kind, s.title, s.area, s.route_id, s.team_id, s.starts_at, s.ends_at, s.status, s.updated_at,
    p.name AS period_name,
    ARRAY(SELECT m.name FROM shift_assignments a JOIN members m ON m.member_id = a.member_id
          WHERE a.shift_id = s.shift_id ORDER BY m.name) AS people
"""


async def insert(conn: asyncpg.Connection, digest: bytes, owner_kind: str, owner_id: str, *, created_at: datetime,
                 created_by: str) -> None:
    await conn.execute(
        "INSERT INTO feed_tokens (token_sha256, owner_kind, owner_id, created_at, created_by) "
        "VALUES ($1, $2, $3, $4, $5)",
        digest, owner_kind, owner_id, created_at, created_by,
    )


async def revoke(conn: asyncpg.Connection, owner_kind: str, owner_id: str, *, at: datetime) -> bool:
    result = await conn.execute(
        "UPDATE feed_tokens SET revoked_at = $3 WHERE owner_kind = $1 AND owner_id = $2 AND revoked_at IS NULL",
        owner_kind, owner_id, at,
    )
    return not result.endswith(" 0")


async def owner_of(conn: asyncpg.Connection, digest: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT owner_kind, owner_id FROM feed_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL", digest)


async def member_name(conn: asyncpg.Connection, member_id: str) -> str | None:
    name: str | None = await conn.fetchval("SELECT name FROM members WHERE member_id = $1", member_id)
    return name


async def team_known(conn: asyncpg.Connection, team_id: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM members WHERE team_id = $1) OR EXISTS (SELECT 1 FROM shifts WHERE team_id = $1)",
        team_id))


async def member_shifts(conn: asyncpg.Connection, member_id: str, *, since: datetime) -> list[asyncpg.Record]:
    """The member's shifts ending after ``since``, published or cancelled (a cancelled one leaves the phone)."""
    return await conn.fetch(
        f"""
        SELECT {_SHIFT_COLUMNS}
        FROM shift_assignments x JOIN shifts s ON s.shift_id = x.shift_id JOIN periods p ON p.period_id = s.period_id
        WHERE x.member_id = $1 AND s.status IN ('published', 'cancelled') AND s.ends_at > $2
        ORDER BY s.starts_at, s.shift_id
        """,
        member_id, since,
    )


async def team_shifts(conn: asyncpg.Connection, team_id: str, *, since: datetime) -> list[asyncpg.Record]:
    """The team's shifts: those that name the team (night patrols) and those a member of the team is on."""
    return await conn.fetch(
        f"""
        SELECT {_SHIFT_COLUMNS}
        FROM shifts s JOIN periods p ON p.period_id = s.period_id
        WHERE s.status IN ('published', 'cancelled') AND s.ends_at > $2
          AND (s.team_id = $1 OR EXISTS (SELECT 1 FROM shift_assignments a JOIN members m USING (member_id)
                                         WHERE a.shift_id = s.shift_id AND m.team_id = $1))
        ORDER BY s.starts_at, s.shift_id
        """,
        team_id, since,
    )
