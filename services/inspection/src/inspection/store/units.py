"""SQL for responsible units (镇街 and 部门)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

UNIT_COLUMNS = "id, name, kind, contact, supervising_unit_id"


@dataclass(frozen=True)
class UnitRow:
    id: str
    name: str
    kind: str
    contact: str
    supervising_unit_id: str | None


@dataclass(frozen=True)
class UnitView(UnitRow):
    """A unit as answered: with the place its organisation in the directory serves (None when the directory does
    not hold the unit, e.g. one registered before units had to be organisations of the directory)."""

    place: str | None = None
    place_name: str | None = None


def _unit(row: asyncpg.Record) -> UnitRow:
    return UnitRow(**dict(row))


# The unit's organisation in inspection's copy of the directory and the place it serves (its parent).
_VIEW = """
    SELECT u.id, u.name, u.kind, u.contact, u.supervising_unit_id, o.parent AS place, p.name AS place_name
    FROM units u
    LEFT JOIN directory_entries o ON o.code = u.id AND o.kind IN ('government', 'department')
    LEFT JOIN directory_entries p ON p.code = o.parent
"""


async def get(conn: asyncpg.Connection, unit_id: str) -> UnitRow | None:
    row = await conn.fetchrow(f"SELECT {UNIT_COLUMNS} FROM units WHERE id = $1", unit_id)
    return None if row is None else _unit(row)


async def insert(conn: asyncpg.Connection, *, id: str, name: str, kind: str, contact: str,
                 supervising_unit_id: str | None) -> bool:
    """False when the id is taken (the caller compares)."""
    inserted = await conn.fetchval(
        "INSERT INTO units (id, name, kind, contact, supervising_unit_id) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (id) DO NOTHING RETURNING id",
        id, name, kind, contact, supervising_unit_id,
    )
    return inserted is not None


async def exists(conn: asyncpg.Connection, unit_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM units WHERE id = $1", unit_id))


async def many(conn: asyncpg.Connection, unit_ids: Sequence[str]) -> dict[str, UnitRow]:
    rows = await conn.fetch(f"SELECT {UNIT_COLUMNS} FROM units WHERE id = ANY($1::text[])", list(unit_ids))
    return {r["id"]: _unit(r) for r in rows}


async def view(conn: asyncpg.Connection, unit_id: str) -> UnitView | None:
    row = await conn.fetchrow(f"{_VIEW} WHERE u.id = $1", unit_id)
    return None if row is None else UnitView(**dict(row))


async def page(conn: asyncpg.Connection, *, kind: str | None, limit: int, after: str | None) -> list[UnitView]:
    rows = await conn.fetch(
        f"{_VIEW} WHERE ($1::text IS NULL OR u.kind = $1) AND ($2::text IS NULL OR u.id > $2) ORDER BY u.id LIMIT $3",
        kind, after, limit,
    )
    return [UnitView(**dict(r)) for r in rows]


async def covered_by(conn: asyncpg.Connection, scope: str, *, beneath: Sequence[str] = ()) -> list[str]:
    """The units a supervisor's scope covers: those whose id or name is the scope, or is one of ``beneath`` (the
    directory's codes of the organisations in and under the scope's place), and every unit they supervise, all the
    way down the ``supervising_unit_id`` tree (UNION, not UNION ALL: a loop in the tree ends)."""
    rows = await conn.fetch(
        """
        WITH RECURSIVE covered (id) AS (
            SELECT id FROM units WHERE id = $1 OR name = $1 OR id = ANY($2::text[])
            UNION
            SELECT u.id FROM units u JOIN covered c ON u.supervising_unit_id = c.id
        )
        SELECT id FROM covered ORDER BY id
        """,
        scope, list(beneath),
    )
    return [r["id"] for r in rows]
