"""patrol's tables. Every function runs inside the caller's connection/transaction."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from patrol.domain.checkpoints import Checkpoint, CheckpointIn


def _checkpoint(row: asyncpg.Record) -> Checkpoint:
    return Checkpoint(row["id"], row["tag"], row["name"], row["latitude"], row["longitude"], row["radius_m"],
                      expected_method=row["expected_method"])


async def insert_checkpoint(conn: asyncpg.Connection, checkpoint: CheckpointIn) -> bool:
    """False when the id or the tag is taken already."""
    inserted = await conn.fetchval(
        """
        INSERT INTO checkpoints (id, tag, name, latitude, longitude, radius_m, expected_method)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1
        """,
        checkpoint.id, checkpoint.tag, checkpoint.name, checkpoint.latitude, checkpoint.longitude,
        checkpoint.radius_m, checkpoint.expected_method,
    )
    return inserted is not None


async def checkpoint_by_id_or_tag(conn: asyncpg.Connection, checkpoint_id: str, tag: str) -> list[Checkpoint]:
    rows = await conn.fetch("SELECT * FROM checkpoints WHERE id = $1 OR tag = $2", checkpoint_id, tag)
    return [_checkpoint(r) for r in rows]


async def list_checkpoints(conn: asyncpg.Connection, *, limit: int, after: str | None) -> list[Checkpoint]:
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
