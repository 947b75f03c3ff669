"""Alerts and their acknowledgements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

# The one durable timer of an alert (key: alert id), due at its next escalation or reminder (alerts.timers).
ALERT_DUE = "alert-due"

_COLUMNS = frozenset({
    "status", "current_step", "loop", "step_fired_at", "next_escalation_at", "next_reminder_at", "held_since",
    "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "resolve_reason", "updated_at",
})


async def insert(conn: asyncpg.Connection, *, alert_id: str, dedup_key: str, kind: str, severity: str, summary: str,
                 unit_id: str | None, area: str | None, source: Mapping[str, Any], policy: Mapping[str, Any],
                 at: datetime) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """
        INSERT INTO alerts (id, dedup_key, kind, severity, summary, unit_id, area, source, status, policy,
                            raised_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $10) RETURNING *
        """,
        alert_id, dedup_key, kind, severity, summary, unit_id, area, dict(source), dict(policy), at,
    )
    return row


async def lock(conn: asyncpg.Connection, alert_id: str) -> asyncpg.Record | None:
    """The alert, locked for a change. Its timer's row is locked first: the timer runner holds that row before
    its handler locks the alert, so every writer takes the two in that one order (no deadlock)."""
    await conn.execute("SELECT 1 FROM timers WHERE kind = $1 AND timer_key = $2 FOR UPDATE", ALERT_DUE, alert_id)
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM alerts WHERE id = $1 FOR UPDATE", alert_id)
    return row


async def lock_many(conn: asyncpg.Connection, alert_ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    """Alerts whose timers the timer runner holds (a batch of due ``alert-due`` timers), locked in id order:
    the same order as ``lock`` (timer row, then alert row), so no deadlock with a request on one of them."""
    rows = await conn.fetch("SELECT * FROM alerts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
                            list(alert_ids))
    return {row["id"]: row for row in rows}


async def update_fired(conn: asyncpg.Connection, fired: Sequence[tuple[str, int, int, datetime | None,
                                                                        datetime | None]],
                       now: datetime) -> dict[str, asyncpg.Record]:
    """Many alerts moved to a step in one statement: (id, step, loop, next_escalation_at, next_reminder_at);
    each is open at that step, its acknowledgement cleared (what ``escalation.fire`` writes)."""
    rows = await conn.fetch(
        """
        UPDATE alerts a SET status = 'open', current_step = v.step, loop = v.loop, step_fired_at = $6,
            next_escalation_at = v.next_at, next_reminder_at = v.reminder_at, acknowledged_at = NULL,
            acknowledged_by = NULL, updated_at = $6
        FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[], $5::timestamptz[])
            AS v(id, step, loop, next_at, reminder_at)
        WHERE a.id = v.id RETURNING a.*
        """,
        [f[0] for f in fired], [f[1] for f in fired], [f[2] for f in fired], [f[3] for f in fired],
        [f[4] for f in fired], now)
    return {row["id"]: row for row in rows}


async def open_for_key(conn: asyncpg.Connection, dedup_key: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM alerts WHERE dedup_key = $1 AND status <> 'resolved'", dedup_key)
    return row


async def get(conn: asyncpg.Connection, alert_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM alerts WHERE id = $1", alert_id)
    return row


async def update(conn: asyncpg.Connection, alert_id: str, **changes: Any) -> asyncpg.Record:
    unknown = set(changes) - _COLUMNS
    assert not unknown, f"not alert columns: {unknown}"
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
    row: asyncpg.Record = await conn.fetchrow(f"UPDATE alerts SET {assignments} WHERE id = $1 RETURNING *",
                                              alert_id, *(changes[n] for n in names))
    return row


async def page(conn: asyncpg.Connection, *, unit_id: str | None, scope: str | None, status: str | None,
               kind: str | None, limit: int, after: str | None) -> list[asyncpg.Record]:
    """Alerts in id order; ``unit_id`` confines to one unit, ``scope`` to a unit or area (a supervisor's)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT * FROM alerts
        WHERE ($1::text IS NULL OR unit_id = $1) AND ($2::text IS NULL OR unit_id = $2 OR area = $2)
          AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR kind = $4)
          AND ($5::text IS NULL OR id > $5)
        ORDER BY id LIMIT $6
        """,
        unit_id, scope, status, kind, after, limit,
    )
    return rows


async def acks(conn: asyncpg.Connection, alert_id: str, *, step: int, loop: int) -> dict[str, str]:
    """target → who acknowledged it, for one step of one climb."""
    rows = await conn.fetch("SELECT target, by FROM alert_acks WHERE alert_id = $1 AND step = $2 AND loop = $3",
                            alert_id, step, loop)
    return {r["target"]: r["by"] for r in rows}


async def add_acks(conn: asyncpg.Connection, alert_id: str, *, step: int, loop: int, targets: list[str], by: str,
                   at: datetime) -> list[str]:
    """Record ``by``'s acknowledgement for each of ``targets``; returns the targets newly acknowledged."""
    rows = await conn.fetch(
        """
        INSERT INTO alert_acks (alert_id, step, loop, target, by, at)
        SELECT $1, $2, $3, t, $5, $6 FROM unnest($4::text[]) AS t
        ON CONFLICT DO NOTHING RETURNING target
        """,
        alert_id, step, loop, targets, by, at,
    )
    return [r["target"] for r in rows]
