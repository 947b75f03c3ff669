"""SQL for patrol plans and the roster shifts they came from."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from patrol.domain.plans import Plan


def plan_of(row: asyncpg.Record) -> Plan:
    return Plan(row["id"], row["team_id"], row["route_id"], row["first_date"], row["last_date"],
                row["window_start"], row["window_end"], row["timezone"], row["every_minutes"],
                row["rounds_per_night"], timedelta(minutes=row["start_grace_minutes"]),
                timedelta(minutes=row["checkpoint_grace_minutes"]), row["shift_id"])


def plan_json(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    for name in ("first_date", "last_date", "covers_from", "covers_until", "cancelled_at", "created_at",
                 "updated_at"):
        out[name] = out[name].isoformat() if out[name] is not None else None
    for name in ("window_start", "window_end"):
        out[name] = out[name].strftime("%H:%M")
    return out


async def get(conn: asyncpg.Connection, plan_id: str, *, for_update: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT * FROM plans WHERE id = $1 {'FOR UPDATE' if for_update else ''}", plan_id)


async def active(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM plans WHERE cancelled_at IS NULL ORDER BY id")


async def rivals(conn: asyncpg.Connection, plan: Plan, covers: tuple[datetime, datetime]) -> list[asyncpg.Record]:
    """The team's other active plans on the route whose spans meet this one's (locked: one decision at a time)."""
    return await conn.fetch(
        """
        SELECT * FROM plans WHERE team_id = $1 AND route_id = $2 AND id <> $3 AND cancelled_at IS NULL
          AND covers_from < $5 AND covers_until > $4
        ORDER BY id FOR UPDATE
        """,
        plan.team_id, plan.route_id, plan.id, covers[0], covers[1],
    )


async def upsert(conn: asyncpg.Connection, plan: Plan, *, now: datetime) -> None:
    covers = plan.covers
    await conn.execute(
        """
        INSERT INTO plans (id, team_id, route_id, first_date, last_date, window_start, window_end, timezone,
                           every_minutes, rounds_per_night, start_grace_minutes, checkpoint_grace_minutes, shift_id,
                           covers_from, covers_until, cancelled_at, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULL, $16, $16)
        ON CONFLICT (id) DO UPDATE SET
            team_id = EXCLUDED.team_id, route_id = EXCLUDED.route_id, first_date = EXCLUDED.first_date,
            last_date = EXCLUDED.last_date, window_start = EXCLUDED.window_start,
            window_end = EXCLUDED.window_end, timezone = EXCLUDED.timezone, every_minutes = EXCLUDED.every_minutes,
            rounds_per_night = EXCLUDED.rounds_per_night, start_grace_minutes = EXCLUDED.start_grace_minutes,
            checkpoint_grace_minutes = EXCLUDED.checkpoint_grace_minutes, covers_from = EXCLUDED.covers_from,
            covers_until = EXCLUDED.covers_until, cancelled_at = NULL, updated_at = EXCLUDED.updated_at
        """,
        plan.id, plan.team_id, plan.route_id, plan.first_date, plan.last_date, plan.window_start, plan.window_end,
        plan.timezone, plan.every_minutes, plan.rounds_per_night, int(plan.start_grace.total_seconds() // 60),
        int(plan.checkpoint_grace.total_seconds() // 60), plan.shift_id, covers[0], covers[1], now,
    )


async def cancel(conn: asyncpg.Connection, plan_id: str, *, now: datetime) -> None:
    await conn.execute("UPDATE plans SET cancelled_at = $2, updated_at = $2 WHERE id = $1", plan_id, now)


async def list_plans(
    conn: asyncpg.Connection, *, team_id: str | None, route_id: str | None, limit: int, after: str | None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT * FROM plans WHERE ($1::text IS NULL OR team_id = $1) AND ($2::text IS NULL OR route_id = $2)
          AND ($3::text IS NULL OR id > $3) ORDER BY id LIMIT $4
        """,
        team_id, route_id, after, limit,
    )


async def shift_for_update(conn: asyncpg.Connection, shift_id: str) -> asyncpg.Record | None:
    await conn.execute(
        "INSERT INTO roster_shifts (shift_id, state) VALUES ($1, 'new') ON CONFLICT DO NOTHING", shift_id)
    return await conn.fetchrow("SELECT * FROM roster_shifts WHERE shift_id = $1 FOR UPDATE", shift_id)


async def record_shift(
    conn: asyncpg.Connection, shift_id: str, *, sequence: int | None, plan_id: str | None, state: str
) -> None:
    await conn.execute(
        "UPDATE roster_shifts SET last_sequence = $2, plan_id = $3, state = $4 WHERE shift_id = $1",
        shift_id, sequence, plan_id, state,
    )
