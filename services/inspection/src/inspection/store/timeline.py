"""SQL for 全程留痕: every step of a task, who did it and when, written in the same transaction as the step itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg


async def record(conn: asyncpg.Connection, task_id: str, *, at: datetime, actor: str, action: str,
                 detail: Mapping[str, Any] | None = None) -> None:
    await conn.execute(
        "INSERT INTO task_timeline (task_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
        task_id, at, actor, action, dict(detail or {}),
    )


async def record_many(conn: asyncpg.Connection, rows: list[tuple[str, datetime, str, str, dict[str, Any]]]) -> None:
    """(task_id, at, actor, action, detail) rows in one statement: a release opens thousands of tasks at once."""
    if rows:
        await conn.executemany(
            "INSERT INTO task_timeline (task_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)", rows)


async def read(conn: asyncpg.Connection, task_id: str) -> list[dict[str, Any]]:
    """In the order things happened (a patrol's report is dated when it was seen), then as written."""
    rows = await conn.fetch(
        "SELECT at, actor, action, detail FROM task_timeline WHERE task_id = $1 ORDER BY at, id", task_id)
    return [dict(r) for r in rows]
