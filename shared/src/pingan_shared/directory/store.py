"""SQL for the directory's entries (platform migration 0004): the same table in every service's database."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from pingan_shared.directory.entries import Entry
from pingan_shared.events.directory_contracts import EntryKind

COLUMNS = "code, kind, name, parent, latitude, longitude, geometry, retired"


async def put_if_newer(conn: asyncpg.Connection, entry: Entry, *, version: int) -> bool:
    """Keep ``entry`` as of ``version`` unless a version as new is kept already (False: stale or repeated)."""
    kept = await conn.fetchval(
        f"""
        INSERT INTO directory_entries ({COLUMNS}, version, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
        ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, name = excluded.name, parent = excluded.parent,
            latitude = excluded.latitude, longitude = excluded.longitude, geometry = excluded.geometry,
            retired = excluded.retired, version = excluded.version, updated_at = excluded.updated_at
        WHERE directory_entries.version < excluded.version
        RETURNING code
        """,
        entry.code, entry.kind.value, entry.name, entry.parent, entry.latitude, entry.longitude, entry.geometry,
        entry.retired, version,
    )
    return kept is not None


async def get(conn: asyncpg.Connection, code: str) -> Entry | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM directory_entries WHERE code = $1", code)
    return None if row is None else Entry.from_row(row)


async def many(conn: asyncpg.Connection, codes: Sequence[str]) -> dict[str, Entry]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM directory_entries WHERE code = ANY($1::text[])", list(codes))
    return {r["code"]: Entry.from_row(r) for r in rows}


async def named(conn: asyncpg.Connection, name: str) -> list[Entry]:
    """The current (not retired) entries called ``name``."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM directory_entries WHERE name = $1 AND NOT retired ORDER BY code", name)
    return [Entry.from_row(r) for r in rows]


# ``sub``: the code bound to the parameter named and every entry beneath it, all the way down (UNION, not UNION ALL:
# a loop in the hierarchy ends).
def _subtree_of(parameter: str) -> str:
    return f"""
        WITH RECURSIVE sub (code) AS (
            SELECT code FROM directory_entries WHERE code = {parameter}
            UNION
            SELECT e.code FROM directory_entries e JOIN sub ON e.parent = sub.code
        )"""


async def page(conn: asyncpg.Connection, *, kind: EntryKind | None, under: str | None, name: str | None,
               limit: int, after: str | None, parent: str | None = None) -> list[Entry]:
    """Entries in code order; ``under``: only those in that place's subtree (itself included); ``parent``: only
    those directly beneath it (a place's page lists its children without walking its whole subtree)."""
    rows = await conn.fetch(
        f"""{_subtree_of("$2")}
        SELECT {COLUMNS} FROM directory_entries
        WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR code IN (SELECT code FROM sub))
          AND ($3::text IS NULL OR name LIKE '%' || $3 || '%') AND ($4::text IS NULL OR code > $4)
          AND ($6::text IS NULL OR parent = $6)
        ORDER BY code LIMIT $5
        """,
        kind.value if kind else None, under, name, after, limit, parent,
    )
    return [Entry.from_row(r) for r in rows]


async def subtree(conn: asyncpg.Connection, code: str) -> list[str]:
    """``code`` and every entry beneath it (places within, organisations serving them), all the way down."""
    rows = await conn.fetch(f"{_subtree_of('$1')} SELECT code FROM sub ORDER BY code", code)
    return [r["code"] for r in rows]


async def lineage(conn: asyncpg.Connection, code: str) -> list[Entry]:
    """``code``'s entry and those above it, nearest first (empty for an unknown code)."""
    rows = await conn.fetch(
        f"""
        WITH RECURSIVE up (code, depth) AS (
            SELECT code, 0 FROM directory_entries WHERE code = $1
            UNION
            SELECT e.parent, up.depth + 1 FROM directory_entries e JOIN up ON e.code = up.code
            WHERE e.parent IS NOT NULL AND up.depth < 16
        )
        SELECT {COLUMNS} FROM directory_entries d JOIN up USING (code) ORDER BY up.depth
        """,
        code,
    )
    return [Entry.from_row(r) for r in rows]
