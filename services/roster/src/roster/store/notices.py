"""SQL for a member's notices (``member_notices``): the handoff reminders before its shifts."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from roster.domain.notices import Notice


async def leave(conn: asyncpg.Connection, member_ids: list[str], shift_id: str, kind: str, text: str,
                now: datetime) -> None:
    """One notice for each member (a member who has this shift's notice of this kind keeps the one it has)."""
    await conn.execute(
        "INSERT INTO member_notices (member_id, shift_id, kind, text, created_at)"
        " SELECT unnest($1::text[]), $2, $3, $4, $5 ON CONFLICT DO NOTHING",
        member_ids, shift_id, kind, text, now)


async def of_member(conn: asyncpg.Connection, member_id: str, *, after: int | None, limit: int) -> list[Notice]:
    rows = await conn.fetch(
        "SELECT id, shift_id, kind, text, created_at FROM member_notices WHERE member_id = $1"
        " AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3", member_id, after, limit)
    return [Notice(**dict(r)) for r in rows]
