"""Durable timers that failed for good: what an operator lists and hands back (``pingan timers failed`` /
``pingan timers retry``). The runner that fails them is in ``pingan_shared.timers``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class FailedTimer:
    id: int
    kind: str
    key: str
    due_at: datetime  # when its last attempt was due
    attempts: int
    last_error: str | None
    payload: dict[str, Any]


async def failed_timers(conn: asyncpg.Connection, *, limit: int) -> list[FailedTimer]:
    """Timers that used up their attempts, oldest due first."""
    rows = await conn.fetch(
        "SELECT id, kind, timer_key, due_at, attempts, last_error, payload FROM timers "
        "WHERE status = 'failed' ORDER BY due_at, id LIMIT $1",
        limit,
    )
    return [FailedTimer(r["id"], r["kind"], r["timer_key"], r["due_at"], r["attempts"], r["last_error"],
                        r["payload"]) for r in rows]


async def failed_timers_page(conn: asyncpg.Connection, *, limit: int, after: int | None = None) -> list[FailedTimer]:
    """Timers that used up their attempts in id order (the order they were first scheduled), ``limit`` after timer
    ``after``: a page of ``/v1/operations/timers/failed``, whose cursor must not move as timers fail."""
    rows = await conn.fetch(
        "SELECT id, kind, timer_key, due_at, attempts, last_error, payload FROM timers "
        "WHERE status = 'failed' AND id > $2 ORDER BY id LIMIT $1",
        limit, after or 0,
    )
    return [FailedTimer(r["id"], r["kind"], r["timer_key"], r["due_at"], r["attempts"], r["last_error"],
                        r["payload"]) for r in rows]


async def retry_failed(conn: asyncpg.Connection, timer_id: int) -> bool:
    """Give a failed timer its attempts back; it fires at once (the runners are woken; its due time is past).
    False when there is no failed timer with this id. The last error stays until it is overwritten."""
    result = await conn.execute(
        "UPDATE timers SET status = 'pending', attempts = 0 WHERE id = $1 AND status = 'failed'", timer_id
    )
    if not result.endswith(" 1"):
        return False
    await conn.execute("SELECT pg_notify('timers', '')")  # the runners wake now, as for a timer armed (0006)
    return True
