"""SQL for findings (暗访发现). Sealed: nothing unit-facing reads this table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

FINDING_COLUMNS = ("id, client_id, cycle_id, township_unit_id, department_unit_id, category, severity, hazard_key, "
                   "place, latitude, longitude, description, evidence, recorded_by, recorded_role, recorded_at, "
                   "fingerprint, released_at")


@dataclass(frozen=True)
class FindingRow:
    id: str
    client_id: str | None
    cycle_id: str
    township_unit_id: str | None
    department_unit_id: str | None
    category: str
    severity: str
    hazard_key: str
    place: str
    latitude: float | None
    longitude: float | None
    description: str
    evidence: list[str]
    recorded_by: str
    recorded_role: str
    recorded_at: datetime
    fingerprint: str
    released_at: datetime | None


def _finding(row: asyncpg.Record | None) -> FindingRow | None:
    return None if row is None else FindingRow(**dict(row))


async def get(conn: asyncpg.Connection, finding_id: str) -> FindingRow | None:
    return _finding(await conn.fetchrow(f"SELECT {FINDING_COLUMNS} FROM findings WHERE id = $1", finding_id))


async def by_recorder_key(conn: asyncpg.Connection, recorded_by: str, client_id: str) -> FindingRow | None:
    """The finding ``recorded_by`` recorded under its own key ``client_id``, if any."""
    return _finding(await conn.fetchrow(
        f"SELECT {FINDING_COLUMNS} FROM findings WHERE recorded_by = $1 AND client_id = $2", recorded_by, client_id))


async def insert(conn: asyncpg.Connection, values: dict[str, Any]) -> bool:
    """False when the id is taken, or the recorder's key is (a concurrent twin committed first)."""
    columns = list(values)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    inserted = await conn.fetchval(
        f"INSERT INTO findings ({', '.join(columns)}) VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING id",
        *values.values(),
    )
    return inserted is not None


async def page(conn: asyncpg.Connection, *, recorded_by: str | None, cycle_id: str | None, unit_id: str | None,
               limit: int, after: str | None) -> list[FindingRow]:
    rows = await conn.fetch(
        f"""
        SELECT {FINDING_COLUMNS} FROM findings
        WHERE ($1::text IS NULL OR recorded_by = $1) AND ($2::text IS NULL OR cycle_id = $2)
          AND ($3::text IS NULL OR township_unit_id = $3 OR department_unit_id = $3)
          AND ($4::text IS NULL OR id > $4)
        ORDER BY id LIMIT $5
        """,
        recorded_by, cycle_id, unit_id, after, limit,
    )
    return [FindingRow(**dict(r)) for r in rows]


async def of_cycle(conn: asyncpg.Connection, cycle_id: str) -> list[FindingRow]:
    """Every finding of a cycle, in the order recorded (for the release)."""
    rows = await conn.fetch(
        f"SELECT {FINDING_COLUMNS} FROM findings WHERE cycle_id = $1 ORDER BY recorded_at, id", cycle_id)
    return [FindingRow(**dict(r)) for r in rows]


async def mark_released(conn: asyncpg.Connection, cycle_id: str, at: datetime) -> None:
    await conn.execute("UPDATE findings SET released_at = $2 WHERE cycle_id = $1 AND released_at IS NULL",
                       cycle_id, at)
