"""The audit timeline of an alert (全程留痕): raised, each step, acknowledgements, silences, the resolve, and
each delivery attempt (written by the delivery side). Always written in the transaction of what it records.

The SQL of table ``alert_timeline``. ``kind`` says what happened (``raised``, ``step``, ``held``, ``released``,
``acknowledged``, ``resolved``, ``delivery-attempt`` …); ``detail`` is a JSON object with whatever explains it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg


async def record(conn: asyncpg.Connection, alert_id: str, kind: str, at: datetime,
                 detail: Mapping[str, Any] | None = None) -> None:
    await conn.execute("INSERT INTO alert_timeline (alert_id, kind, at, detail) VALUES ($1, $2, $3, $4)",
                       alert_id, kind, at, dict(detail or {}))


async def record_many(conn: asyncpg.Connection, rows: list[tuple[str, str, datetime, Mapping[str, Any]]]) -> None:
    """(alert_id, kind, at, detail) rows in one statement, in this order (their ids follow it). One ``INSERT …
    SELECT unnest`` rather than ``executemany``: the server then runs one statement, not one per row (a batch of
    due steps writes hundreds of lines); the details go as JSON text, encoded as the pool's codec does."""
    if rows:
        await conn.execute(
            "INSERT INTO alert_timeline (alert_id, kind, at, detail)"
            " SELECT a, k, t, d::jsonb FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])"
            " WITH ORDINALITY AS v(a, k, t, d, n) ORDER BY n",
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
            [json.dumps(dict(r[3]), ensure_ascii=False) for r in rows])


async def read(conn: asyncpg.Connection, alert_id: str) -> list[dict[str, Any]]:
    """In the order things happened, then as written."""
    rows = await conn.fetch(
        "SELECT kind, at, detail FROM alert_timeline WHERE alert_id = $1 ORDER BY at, id", alert_id)
    return [dict(r) for r in rows]
