"""The per-person inbox: messages delivered on the inbox channel, read and unread by their owner only (the
token's subject); a message outside one's own answers exactly as one that does not exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts.context import AlertsContext
from alerts.store import inbox as store
from pingan_shared.refused import NotFound


class MessageNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("消息不存在 (no such message in your inbox)", "message_id")


def message_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "recipient": row["recipient"], "title": row["title"], "body": row["body"],
        "alert_ids": list(row["alert_ids"]), "created_at": row["created_at"].isoformat(),
        "read": row["read_at"] is not None,
        "read_at": row["read_at"].isoformat() if row["read_at"] else None,
    }


async def page(ctx: AlertsContext, owner: str, *, unread_only: bool, limit: int,
               before: int | None) -> dict[str, Any]:
    """Newest first; ``before`` pages on (``next_before``). Also the owner's unread count."""
    async with ctx.runtime.connection() as conn:
        rows, unread = await store.page(conn, owner, unread_only=unread_only, limit=limit, before=before)
    items = [message_json(r) for r in rows]
    return {"items": items, "unread": unread, "next_before": items[-1]["id"] if len(items) == limit else None}


async def mark(ctx: AlertsContext, owner: str, message_id: int, *, read: bool) -> dict[str, Any]:
    """Mark the owner's message read (keeping the first read time) or unread."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        row = await store.mark(conn, owner, message_id, read=read, now=ctx.now())
    if row is None:
        raise MessageNotFound()
    return message_json(row)
