"""SQL for cycles and their scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

CYCLE_COLUMNS = ("id, name, start_date, covert_days, rectification_days, day_basis, starts_at, covert_ends_at, "
                 "closes_at, phase, auto_next, previous_cycle_id, opened_by, fingerprint, created_at, released_at, "
                 "closed_at, successor_note")


@dataclass(frozen=True)
class CycleRow:
    id: str
    name: str
    start_date: date
    covert_days: int
    rectification_days: int
    day_basis: str
    starts_at: datetime
    covert_ends_at: datetime
    closes_at: datetime
    phase: str
    auto_next: bool
    previous_cycle_id: str | None
    opened_by: str
    fingerprint: str
    created_at: datetime
    released_at: datetime | None
    closed_at: datetime | None
    successor_note: str | None


@dataclass(frozen=True)
class Clash:
    """A unit already in a cycle whose period overlaps the one asked for."""

    unit_id: str
    unit_name: str
    cycle_id: str
    cycle_name: str
    starts_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class StoredScorecard:
    cycle_id: str
    phase: str
    closed_at: datetime | None
    scorecard: dict[str, Any] | None


# Cycles are opened one at a time per database (``inspection.cycles``): this transaction-scoped advisory lock.
_OPENING_LOCK_ID = 0x32313143  # "211C"


async def lock_openings(conn: asyncpg.Connection) -> None:
    """Held to the caller's commit; the statements after it (read committed) see a cycle opened meanwhile."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _OPENING_LOCK_ID)


async def get(conn: asyncpg.Connection, cycle_id: str, *, for_update: bool = False,
              for_share: bool = False) -> CycleRow | None:
    lock = " FOR UPDATE" if for_update else " FOR SHARE" if for_share else ""
    row = await conn.fetchrow(f"SELECT {CYCLE_COLUMNS} FROM cycles WHERE id = $1{lock}", cycle_id)
    return None if row is None else CycleRow(**dict(row))


async def insert(conn: asyncpg.Connection, *, id: str, name: str, start_date: date, covert_days: int,
                 rectification_days: int, day_basis: str, starts_at: datetime, covert_ends_at: datetime,
                 closes_at: datetime, auto_next: bool, previous_cycle_id: str | None, opened_by: str,
                 fingerprint: str, created_at: datetime) -> bool:
    """False when the id is taken, or (with ``previous_cycle_id``) the predecessor already has its successor."""
    inserted = await conn.fetchval(
        """
        INSERT INTO cycles (id, name, start_date, covert_days, rectification_days, day_basis, starts_at,
                            covert_ends_at, closes_at, phase, auto_next, previous_cycle_id, opened_by, fingerprint,
                            created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'covert', $10, $11, $12, $13, $14)
        ON CONFLICT DO NOTHING RETURNING id
        """,
        id, name, start_date, covert_days, rectification_days, day_basis, starts_at, covert_ends_at, closes_at,
        auto_next, previous_cycle_id, opened_by, fingerprint, created_at,
    )
    return inserted is not None


async def clashes(conn: asyncpg.Connection, unit_ids: Sequence[str], starts_at: datetime,
                  closes_at: datetime) -> list[Clash]:
    """Units already in a cycle whose period overlaps [starts_at, closes_at), with that cycle."""
    rows = await conn.fetch(
        """
        SELECT cu.unit_id, u.name AS unit_name, c.id AS cycle_id, c.name AS cycle_name, c.starts_at, c.closes_at
        FROM cycle_units cu JOIN cycles c ON c.id = cu.cycle_id JOIN units u ON u.id = cu.unit_id
        WHERE cu.unit_id = ANY($1::text[]) AND cu.period && tstzrange($2, $3)
        ORDER BY cu.unit_id, c.starts_at
        """,
        list(unit_ids), starts_at, closes_at,
    )
    return [Clash(**dict(r)) for r in rows]


async def add_units(conn: asyncpg.Connection, cycle_id: str, unit_ids: Sequence[str], starts_at: datetime,
                    closes_at: datetime) -> None:
    """The cycle's scope; the exclusion constraint refuses a unit already in an overlapping cycle.

    Inserted in unit id order, whatever order the request named them in. Concurrent openings are serialised
    before this (``inspection.cycles``): two exclusion-constraint inserts that meet can each wait for the other."""
    await conn.execute(
        "INSERT INTO cycle_units (cycle_id, unit_id, period) "
        "SELECT $1, u, tstzrange($3, $4) FROM unnest($2::text[]) WITH ORDINALITY AS s (u, n) ORDER BY n",
        cycle_id, sorted(unit_ids), starts_at, closes_at,
    )


async def in_scope(conn: asyncpg.Connection, cycle_id: str, unit_ids: Sequence[str]) -> set[str]:
    """Those of ``unit_ids`` in the cycle's scope."""
    rows = await conn.fetch("SELECT unit_id FROM cycle_units WHERE cycle_id = $1 AND unit_id = ANY($2::text[])",
                            cycle_id, list(unit_ids))
    return {r["unit_id"] for r in rows}


async def mark_released(conn: asyncpg.Connection, cycle_id: str, at: datetime) -> None:
    await conn.execute("UPDATE cycles SET phase = 'rectification', released_at = $2 WHERE id = $1", cycle_id, at)


async def mark_closed(conn: asyncpg.Connection, cycle_id: str, at: datetime, scorecard: dict[str, Any]) -> None:
    await conn.execute("UPDATE cycles SET phase = 'closed', closed_at = $2, scorecard = $3 WHERE id = $1",
                       cycle_id, at, scorecard)


async def has_successor(conn: asyncpg.Connection, cycle_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM cycles WHERE previous_cycle_id = $1", cycle_id))


async def note_no_successor(conn: asyncpg.Connection, cycle_id: str, why: str) -> None:
    await conn.execute("UPDATE cycles SET successor_note = $2 WHERE id = $1", cycle_id, why[:2000])


async def unit_ids(conn: asyncpg.Connection, cycle_id: str) -> list[str]:
    rows = await conn.fetch("SELECT unit_id FROM cycle_units WHERE cycle_id = $1 ORDER BY unit_id", cycle_id)
    return [r["unit_id"] for r in rows]


async def page(conn: asyncpg.Connection, *, phase: str | None, limit: int, after: str | None) -> list[CycleRow]:
    rows = await conn.fetch(
        f"SELECT {CYCLE_COLUMNS} FROM cycles WHERE ($1::text IS NULL OR phase = $1) "
        "AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3",
        phase, after, limit,
    )
    return [CycleRow(**dict(r)) for r in rows]


async def units_of(conn: asyncpg.Connection, cycle_ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await conn.fetch(
        "SELECT cycle_id, unit_id FROM cycle_units WHERE cycle_id = ANY($1::text[]) ORDER BY unit_id",
        list(cycle_ids))
    out: dict[str, list[str]] = {c: [] for c in cycle_ids}
    for r in rows:
        out[r["cycle_id"]].append(r["unit_id"])
    return out


async def scorecard(conn: asyncpg.Connection, cycle_id: str) -> StoredScorecard | None:
    row = await conn.fetchrow(
        "SELECT id AS cycle_id, phase, closed_at, scorecard FROM cycles WHERE id = $1", cycle_id)
    return None if row is None else StoredScorecard(**dict(row))
