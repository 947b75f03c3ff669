"""patrol's tables. Every function runs inside the caller's connection/transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from patrol.domain.checkpoints import Checkpoint, CheckpointIn


def _checkpoint(row: asyncpg.Record) -> Checkpoint:
    return Checkpoint(row["id"], row["tag"], row["name"], row["latitude"], row["longitude"], row["radius_m"])


async def insert_checkpoint(conn: asyncpg.Connection, checkpoint: CheckpointIn) -> bool:
    """False when the id or the tag is taken already."""
    inserted = await conn.fetchval(
        """
        INSERT INTO checkpoints (id, tag, name, latitude, longitude, radius_m)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1
        """,
        checkpoint.id, checkpoint.tag, checkpoint.name, checkpoint.latitude, checkpoint.longitude,
        checkpoint.radius_m,
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


@dataclass(frozen=True)
class ScanRow:
    team_id: str
    scan_id: str
    member_id: str
    checkpoint_id: str
    device_time: datetime
    received_at: datetime
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    distance_m: float | None
    within_radius: bool | None
    fingerprint: str
    event_id: UUID


_SCAN_COLUMNS = [
    ("team_id", "text"), ("scan_id", "text"), ("member_id", "text"), ("checkpoint_id", "text"),
    ("device_time", "timestamptz"), ("received_at", "timestamptz"), ("latitude", "float8"),
    ("longitude", "float8"), ("accuracy_m", "float8"), ("distance_m", "float8"), ("within_radius", "bool"),
    ("fingerprint", "text"), ("event_id", "uuid"),
]
_INSERT_SCANS = (
    f"INSERT INTO scans ({', '.join(c for c, _ in _SCAN_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${i}::{t}[]' for i, (_, t) in enumerate(_SCAN_COLUMNS, 1))}) "
    "ON CONFLICT (team_id, scan_id) DO NOTHING RETURNING team_id, scan_id"
)


async def insert_scans(conn: asyncpg.Connection, rows: Sequence[ScanRow]) -> set[tuple[str, str]]:
    """Insert what is new; returns the (team, scan id) pairs this call inserted."""
    if not rows:
        return set()
    # Key order, whatever the upload's order: concurrent uploads overlapping in scan ids (an app retrying a
    # re-merged queue) then take their row locks in the same order and wait for each other, never deadlock.
    rows = sorted(rows, key=lambda row: (row.team_id, row.scan_id))
    columns = [[getattr(row, name) for row in rows] for name, _ in _SCAN_COLUMNS]
    inserted = await conn.fetch(_INSERT_SCANS, *columns)
    return {(r["team_id"], r["scan_id"]) for r in inserted}


async def stored_fingerprints(
    conn: asyncpg.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    pairs = list(keys)
    if not pairs:
        return {}
    rows = await conn.fetch(
        """
        SELECT s.team_id, s.scan_id, s.fingerprint FROM scans s
        JOIN unnest($1::text[], $2::text[]) AS k(team_id, scan_id)
          ON s.team_id = k.team_id AND s.scan_id = k.scan_id
        """,
        [t for t, _ in pairs], [s for _, s in pairs],
    )
    return {(r["team_id"], r["scan_id"]): r["fingerprint"] for r in rows}
