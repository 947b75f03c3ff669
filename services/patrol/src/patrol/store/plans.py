"""Patrol plans (``plans``) and the roster shifts they came from (``roster_shifts``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta

import asyncpg

from patrol.domain.plans import Plan


@dataclass(frozen=True)
class PlanRow:
    """A plan as stored: the plan, the instants it covers and when it was made, changed or cancelled."""

    id: str
    team_id: str
    route_id: str
    first_date: date
    last_date: date
    window_start: time
    window_end: time
    timezone: str
    every_minutes: int | None
    rounds_per_night: int | None
    start_grace_minutes: int
    checkpoint_grace_minutes: int
    shift_id: str | None
    covers_from: datetime
    covers_until: datetime
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def plan(self) -> Plan:
        return Plan(self.id, self.team_id, self.route_id, self.first_date, self.last_date, self.window_start,
                    self.window_end, self.timezone, self.every_minutes, self.rounds_per_night,
                    timedelta(minutes=self.start_grace_minutes), timedelta(minutes=self.checkpoint_grace_minutes),
                    self.shift_id)


_COLUMNS = ", ".join(f.name for f in fields(PlanRow))


def _plan_row(row: asyncpg.Record) -> PlanRow:
    return PlanRow(**{f.name: row[f.name] for f in fields(PlanRow)})


async def get(conn: asyncpg.Connection, plan_id: str, *, for_update: bool = False) -> PlanRow | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM plans WHERE id = $1 {'FOR UPDATE' if for_update else ''}",
                              plan_id)
    return None if row is None else _plan_row(row)


async def active(conn: asyncpg.Connection) -> list[PlanRow]:
    return [_plan_row(r) for r in
            await conn.fetch(f"SELECT {_COLUMNS} FROM plans WHERE cancelled_at IS NULL ORDER BY id")]


async def rivals(conn: asyncpg.Connection, plan: Plan, covers: tuple[datetime, datetime]) -> list[PlanRow]:
    """The team's other active plans on the route whose spans meet this one's (locked: one decision at a time)."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM plans WHERE team_id = $1 AND route_id = $2 AND id <> $3 AND cancelled_at IS NULL
          AND covers_from < $5 AND covers_until > $4
        ORDER BY id FOR UPDATE
        """,
        plan.team_id, plan.route_id, plan.id, covers[0], covers[1],
    )
    return [_plan_row(r) for r in rows]


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
) -> list[PlanRow]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM plans WHERE ($1::text IS NULL OR team_id = $1) AND ($2::text IS NULL OR route_id = $2)
          AND ($3::text IS NULL OR id > $3) ORDER BY id LIMIT $4
        """,
        team_id, route_id, after, limit,
    )
    return [_plan_row(r) for r in rows]


async def shift_sequence_for_update(conn: asyncpg.Connection, shift_id: str) -> int | None:
    """The highest envelope sequence applied for the roster shift (None: none yet), its row locked."""
    await conn.execute(
        "INSERT INTO roster_shifts (shift_id, state) VALUES ($1, 'new') ON CONFLICT DO NOTHING", shift_id)
    sequence: int | None = await conn.fetchval(
        "SELECT last_sequence FROM roster_shifts WHERE shift_id = $1 FOR UPDATE", shift_id)
    return sequence


async def record_shift(
    conn: asyncpg.Connection, shift_id: str, *, sequence: int | None, plan_id: str | None, state: str
) -> None:
    await conn.execute(
        "UPDATE roster_shifts SET last_sequence = $2, plan_id = $3, state = $4 WHERE shift_id = $1",
        shift_id, sequence, plan_id, state,
    )
