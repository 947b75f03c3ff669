"""The scans table: the intake's one insert per upload, and the stored fingerprints a retry is answered from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class ScanRow:
    team_id: str
    scan_id: str
    member_id: str
    checkpoint_id: str
    device_time: datetime
    corrected_time: datetime
    received_at: datetime
    sent_at: datetime | None
    clock_offset_s: float | None
    method: str | None
    device_id: str
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    distance_m: float | None
    within_radius: bool | None
    fingerprint: str
    event_id: UUID


_SCAN_COLUMNS = [
    ("team_id", "text"), ("scan_id", "text"), ("member_id", "text"), ("checkpoint_id", "text"),
    ("device_time", "timestamptz"), ("corrected_time", "timestamptz"), ("received_at", "timestamptz"),
    ("sent_at", "timestamptz"), ("clock_offset_s", "float8"), ("method", "text"), ("device_id", "text"),
    ("latitude", "float8"),
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
