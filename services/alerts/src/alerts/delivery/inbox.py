"""The per-person inbox: messages delivered on the inbox channel, read and unread by their owner only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


def message_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"], "recipient": row["recipient"], "title": row["title"], "body": row["body"],
        "alert_ids": list(row["alert_ids"]), "created_at": row["created_at"].isoformat(),
        "read": row["read_at"] is not None,
        "read_at": row["read_at"].isoformat() if row["read_at"] else None,
    }


async def page(conn: asyncpg.Connection, owner: str, *, unread_only: bool, limit: int,
               before: int | None) -> tuple[list[dict[str, Any]], int]:
    """Newest first; ``before`` pages on. Also the owner's unread count."""
    rows = await conn.fetch(
        "SELECT * FROM inbox_messages WHERE owner = $1 AND (NOT $2 OR read_at IS NULL)"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", owner, unread_only, before, limit)
    unread = await conn.fetchval("SELECT count(*) FROM inbox_messages WHERE owner = $1 AND read_at IS NULL", owner)
    return [message_json(r) for r in rows], int(unread)


async def mark(conn: asyncpg.Connection, owner: str, message_id: int, *, read: bool,
               now: datetime) -> dict[str, Any] | None:
    """Mark the owner's message read (keeping the first read time) or unread; None if it is not theirs."""
    row = await conn.fetchrow(
        "UPDATE inbox_messages SET read_at = CASE WHEN $3 THEN coalesce(read_at, $4) ELSE NULL END"
        " WHERE id = $1 AND owner = $2 RETURNING *", message_id, owner, read, now)
    return message_json(row) if row else None
