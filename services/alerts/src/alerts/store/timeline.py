"""The audit timeline of an alert (全程留痕): raised, each step, acknowledgements, silences, the resolve, and
each delivery attempt (written by the delivery side). Always written in the transaction of what it records.

The SQL of table ``alert_timeline``. ``kind`` says what happened (``raised``, ``step``, ``held``, ``released``,
``acknowledged``, ``resolved``, ``delivery-attempt`` …); ``detail`` is a JSON object with whatever explains it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg


async def record(conn: asyncpg.Connection, alert_id: str, kind: str, at: datetime,
                 detail: Mapping[str, Any] | None = None) -> None:
    await conn.execute("INSERT INTO alert_timeline (alert_id, kind, at, detail) VALUES ($1, $2, $3, $4)",
                       alert_id, kind, at, dict(detail or {}))


async def record_many(conn: asyncpg.Connection, rows: list[tuple[str, str, datetime, Mapping[str, Any]]]) -> None:
    """(alert_id, kind, at, detail) rows in one statement."""
    if rows:
        await conn.executemany("INSERT INTO alert_timeline (alert_id, kind, at, detail) VALUES ($1, $2, $3, $4)",
                               [(a, k, at, dict(d)) for a, k, at, d in rows])


async def read(conn: asyncpg.Connection, alert_id: str) -> list[dict[str, Any]]:
    """In the order things happened, then as written."""
    rows = await conn.fetch(
        "SELECT kind, at, detail FROM alert_timeline WHERE alert_id = $1 ORDER BY at, id", alert_id)
    return [dict(r) for r in rows]
