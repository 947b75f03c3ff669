"""Silences (maintenance windows)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from alerts.domain.silence import Silence


def as_silence(row: asyncpg.Record) -> Silence:
    return Silence(id=row["id"], kind=row["kind"], unit_id=row["unit_id"], area=row["area"],
                   starts_at=row["starts_at"], ends_at=row["ends_at"], place=row["place"])


async def insert(conn: asyncpg.Connection, *, silence_id: str, kind: str | None, unit_id: str | None,
                 area: str | None, place: str | None, starts_at: datetime, ends_at: datetime, reason: str, by: str,
                 at: datetime) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """
        INSERT INTO silences (id, kind, unit_id, area, place, starts_at, ends_at, reason, created_by, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *
        """,
        silence_id, kind, unit_id, area, place, starts_at, ends_at, reason, by, at,
    )
    return row


async def get(conn: asyncpg.Connection, silence_id: str, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    row: asyncpg.Record | None = await conn.fetchrow(f"SELECT * FROM silences WHERE id = $1{lock}", silence_id)
    return row


async def active(conn: asyncpg.Connection, now: datetime) -> list[Silence]:
    """Silences in force at ``now`` (started, not ended, not released)."""
    rows = await conn.fetch(
        "SELECT * FROM silences WHERE released_at IS NULL AND starts_at <= $1 AND ends_at > $1", now)
    return [as_silence(r) for r in rows]


async def listing(conn: asyncpg.Connection, *, current_only: bool, now: datetime) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM silences WHERE NOT $1 OR (released_at IS NULL AND ends_at > $2) ORDER BY starts_at, id",
        current_only, now)
    return rows


async def end(conn: asyncpg.Connection, silence_id: str, *, at: datetime, early: bool) -> None:
    await conn.execute(
        """
        UPDATE silences SET released_at = $2, ends_at = CASE WHEN $3 THEN greatest(least(ends_at, $2), starts_at
                            + interval '1 microsecond') ELSE ends_at END,
                            ended_early_at = CASE WHEN $3 THEN $2 ELSE ended_early_at END
        WHERE id = $1
        """,
        silence_id, at, early,
    )
