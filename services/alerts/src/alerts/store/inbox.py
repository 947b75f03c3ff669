"""The per-person inbox's table (``inbox_messages``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def page(conn: asyncpg.Connection, owner: str, *, unread_only: bool, limit: int,
               before: int | None) -> tuple[list[dict[str, Any]], int]:
    """The owner's messages newest first (``before`` pages on), and the owner's unread count."""
    rows = await conn.fetch(
        "SELECT * FROM inbox_messages WHERE owner = $1 AND (NOT $2 OR read_at IS NULL)"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", owner, unread_only, before, limit)
    unread = await conn.fetchval("SELECT count(*) FROM inbox_messages WHERE owner = $1 AND read_at IS NULL", owner)
    return [dict(r) for r in rows], int(unread)


async def mark(conn: asyncpg.Connection, owner: str, message_id: int, *, read: bool,
               now: datetime) -> dict[str, Any] | None:
    """Mark the owner's message read (keeping the first read time) or unread; None if it is not theirs."""
    row = await conn.fetchrow(
        "UPDATE inbox_messages SET read_at = CASE WHEN $3 THEN coalesce(read_at, $4) ELSE NULL END"
        " WHERE id = $1 AND owner = $2 RETURNING *", message_id, owner, read, now)
    return None if row is None else dict(row)
