"""The rounds top-up timer's one statement of its own: arm it unless it is pending already.

``pingan_shared.timers.schedule`` always moves a timer; the top-up must keep a pending one's earlier due time,
which the shared module has no call for yet."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def arm_unless_pending(conn: asyncpg.Connection, kind: str, key: str, due_at: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO timers (kind, timer_key, due_at, payload) VALUES ($1, $2, $3, '{}')
        ON CONFLICT (kind, timer_key) DO UPDATE
        SET due_at = EXCLUDED.due_at, status = 'pending', attempts = 0, last_error = NULL, fired_at = NULL
        WHERE timers.status <> 'pending'
        """,
        kind, key, due_at,
    )
