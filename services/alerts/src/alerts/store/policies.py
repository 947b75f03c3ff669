"""Escalation policies per kind and scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg


async def insert(conn: asyncpg.Connection, *, policy_id: str, name: str, kind: str, scope_unit: str | None,
                 scope_area: str | None, steps: Sequence[dict[str, Any]], repeat: int, by: str,
                 at: datetime) -> asyncpg.Record | None:
    """The new policy, or None when one already exists for the kind and scope."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        INSERT INTO alert_policies (id, name, kind, scope_unit, scope_area, steps, repeat, created_by, created_at,
                                    updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
        ON CONFLICT DO NOTHING RETURNING *
        """,
        policy_id, name, kind, scope_unit, scope_area, list(steps), repeat, by, at,
    )
    return row


async def replace(conn: asyncpg.Connection, policy_id: str, *, name: str, kind: str, scope_unit: str | None,
                  scope_area: str | None, steps: Sequence[dict[str, Any]], repeat: int,
                  at: datetime) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        UPDATE alert_policies SET name = $2, kind = $3, scope_unit = $4, scope_area = $5, steps = $6, repeat = $7,
                                  updated_at = $8
        WHERE id = $1 RETURNING *
        """,
        policy_id, name, kind, scope_unit, scope_area, list(steps), repeat, at,
    )
    return row


async def clashes(conn: asyncpg.Connection, policy_id: str, *, kind: str, scope_unit: str | None,
                  scope_area: str | None) -> bool:
    """Whether another policy already has this kind and scope."""
    found: bool = await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM alert_policies WHERE id <> $1 AND kind = $2
                       AND coalesce(scope_unit, '') = coalesce($3, '') AND coalesce(scope_area, '') = coalesce($4, ''))
        """,
        policy_id, kind, scope_unit, scope_area,
    )
    return found


async def get(conn: asyncpg.Connection, policy_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM alert_policies WHERE id = $1", policy_id)
    return row


async def delete(conn: asyncpg.Connection, policy_id: str) -> bool:
    return (await conn.execute("DELETE FROM alert_policies WHERE id = $1", policy_id)).endswith(" 1")


async def listing(conn: asyncpg.Connection, *, kind: str | None) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM alert_policies WHERE ($1::text IS NULL OR kind = $1) ORDER BY kind, id", kind)
    return rows


async def best_for(conn: asyncpg.Connection, *, kind: str, unit_id: str | None,
                   area: str | None) -> asyncpg.Record | None:
    """The most specific policy for an alert: one for its unit beats one for its area beats one for the kind."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT * FROM alert_policies
        WHERE kind = $1 AND (scope_unit IS NULL OR scope_unit = $2) AND (scope_area IS NULL OR scope_area = $3)
        ORDER BY (scope_unit IS NOT NULL) DESC, (scope_area IS NOT NULL) DESC, id LIMIT 1
        """,
        kind, unit_id, area,
    )
    return row
