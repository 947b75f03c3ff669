"""SQL for what the alerts service tells inspection about a task's alert: the alert's state as last applied
(``task_alerts``, one row per dedup key, with the highest per-key sequence applied) and the accountability
records (``accountability``, one row per alert, step and loop)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg


async def alert_state_for_update(conn: asyncpg.Connection, dedup_key: str, task_id: str,
                                 at: datetime) -> asyncpg.Record:
    """The alert state row of ``dedup_key``, locked; created empty (status 'unknown', no sequence) if absent."""
    await conn.execute(
        "INSERT INTO task_alerts (dedup_key, task_id, status, updated_at) VALUES ($1, $2, 'unknown', $3) "
        "ON CONFLICT (dedup_key) DO NOTHING",
        dedup_key, task_id, at,
    )
    row: asyncpg.Record = await conn.fetchrow(
        "SELECT dedup_key, task_id, alert_id, status, label, last_sequence FROM task_alerts "
        "WHERE dedup_key = $1 FOR UPDATE",
        dedup_key,
    )
    return row


async def set_alert_state(conn: asyncpg.Connection, dedup_key: str, *, alert_id: str, status: str,
                          label: str | None, last_sequence: int | None, at: datetime) -> None:
    await conn.execute(
        "UPDATE task_alerts SET alert_id = $2, status = $3, label = COALESCE($4, label), last_sequence = $5, "
        "updated_at = $6 WHERE dedup_key = $1",
        dedup_key, alert_id, status, label, last_sequence, at,
    )


async def record_step(conn: asyncpg.Connection, *, task_id: str, alert_id: str, step: int, loop: int, label: str,
                      targets: list[str], at: datetime, event_id: uuid.UUID) -> bool:
    """One accountability record per (alert, step, loop); False when it was already recorded."""
    inserted = await conn.fetchval(
        "INSERT INTO accountability (task_id, alert_id, step, loop, label, targets, at, event_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (alert_id, step, loop) DO NOTHING RETURNING 1",
        task_id, alert_id, step, loop, label, targets, at, event_id,
    )
    return inserted is not None


async def accountability_of(conn: asyncpg.Connection, task_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each task's accountability records, in the order the steps were taken."""
    rows = await conn.fetch(
        "SELECT task_id, step, label, loop, at, alert_id FROM accountability WHERE task_id = ANY($1::text[]) "
        "ORDER BY task_id, at, loop, step",
        task_ids,
    )
    found: dict[str, list[dict[str, Any]]] = {t: [] for t in task_ids}
    for r in rows:
        found[r["task_id"]].append({"step": r["step"], "label": r["label"], "loop": r["loop"], "at": r["at"],
                                    "alert_id": r["alert_id"]})
    return found


async def alert_status_of(conn: asyncpg.Connection, task_ids: list[str]) -> dict[str, str | None]:
    """Each task's alert status as last applied (raised, escalated, acknowledged, resolved), None if none."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (task_id) task_id, status FROM task_alerts "
        "WHERE task_id = ANY($1::text[]) AND status <> 'unknown' ORDER BY task_id, updated_at DESC",
        task_ids,
    )
    found: dict[str, str | None] = dict.fromkeys(task_ids)
    for r in rows:
        found[r["task_id"]] = r["status"]
    return found
