"""The checkpoints table: registration (one at a time or imported with an area), the listing, and the look-ups
an upload, a route and a round's events make."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from patrol.domain.checkpoints import Checkpoint, CheckpointIn


def _checkpoint(row: asyncpg.Record) -> Checkpoint:
    return Checkpoint(row["id"], row["tag"], row["name"], row["latitude"], row["longitude"], row["radius_m"],
                      expected_method=row["expected_method"], area=row["area"])


async def insert_checkpoint(conn: asyncpg.Connection, checkpoint: CheckpointIn, *, area: str | None = None) -> bool:
    """False when the id or the tag is taken already."""
    inserted = await conn.fetchval(
        """
        INSERT INTO checkpoints (id, tag, name, latitude, longitude, radius_m, expected_method, area)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING 1
        """,
        checkpoint.id, checkpoint.tag, checkpoint.name, checkpoint.latitude, checkpoint.longitude,
        checkpoint.radius_m, None if checkpoint.expected_method is None else checkpoint.expected_method.value, area,
    )
    return inserted is not None


async def set_area(conn: asyncpg.Connection, checkpoint_id: str, area: str | None) -> None:
    await conn.execute("UPDATE checkpoints SET area = $2 WHERE id = $1", checkpoint_id, area)


async def by_id(conn: asyncpg.Connection, checkpoint_id: str) -> Checkpoint | None:
    row = await conn.fetchrow("SELECT * FROM checkpoints WHERE id = $1", checkpoint_id)
    return None if row is None else _checkpoint(row)


async def by_id_or_tag(conn: asyncpg.Connection, checkpoint_id: str, tag: str) -> list[Checkpoint]:
    rows = await conn.fetch("SELECT * FROM checkpoints WHERE id = $1 OR tag = $2", checkpoint_id, tag)
    return [_checkpoint(r) for r in rows]


async def listing(conn: asyncpg.Connection, *, limit: int, after: str | None) -> list[Checkpoint]:
    rows = await conn.fetch(
        "SELECT * FROM checkpoints WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2", after, limit
    )
    return [_checkpoint(r) for r in rows]


async def find_checkpoints(
    conn: asyncpg.Connection, ids: Iterable[str], tags: Iterable[str]
) -> tuple[dict[str, Checkpoint], dict[str, Checkpoint]]:
    """(by id, by tag) for the ids and tags a batch mentions: one query per batch."""
    rows = await conn.fetch(
        "SELECT * FROM checkpoints WHERE id = ANY($1::text[]) OR tag = ANY($2::text[])",
        sorted(set(ids)), sorted(set(tags)),
    )
    found = [_checkpoint(r) for r in rows]
    return {c.id: c for c in found}, {c.tag: c for c in found}


async def unknown_checkpoints(conn: asyncpg.Connection, ids: Iterable[str]) -> list[str]:
    """The ids (in the order given, each once) no checkpoint has."""
    wanted = list(dict.fromkeys(ids))
    rows = await conn.fetch("SELECT id FROM checkpoints WHERE id = ANY($1::text[])", wanted)
    known = {r["id"] for r in rows}
    return [i for i in wanted if i not in known]


async def names(conn: asyncpg.Connection, ids: Iterable[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, name FROM checkpoints WHERE id = ANY($1::text[])", list(set(ids)))
    return {r["id"]: r["name"] for r in rows}
