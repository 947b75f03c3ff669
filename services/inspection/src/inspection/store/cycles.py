"""SQL for cycles and their scope."""

from __future__ import annotations

import asyncpg

CYCLE_COLUMNS = ("id, name, start_date, covert_days, rectification_days, day_basis, starts_at, covert_ends_at, "
                 "closes_at, phase, auto_next, previous_cycle_id, opened_by, fingerprint, created_at, released_at, "
                 "closed_at")


async def get(conn: asyncpg.Connection, cycle_id: str, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    row: asyncpg.Record | None = await conn.fetchrow(f"SELECT {CYCLE_COLUMNS} FROM cycles WHERE id = $1{lock}",
                                                     cycle_id)
    return row
