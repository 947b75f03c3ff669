"""The flags consumer's tables: ``flag_timeline`` (members' scans it has handled) and ``scan_flags``.

A scan is (team_id, scan_id) here as in ``scans``; a flag is (team_id, scan_id, kind), stored once ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from patrol.domain.fraud import TimelineScan

_TIMELINE_COLUMNS = [
    ("team_id", "text"), ("scan_id", "text"), ("member_id", "text"), ("device_id", "text"),
    ("checkpoint_id", "text"), ("at", "timestamptz"), ("latitude", "float8"), ("longitude", "float8"),
    ("spread_m", "float8"),
]
_ADD_TO_TIMELINE = (
    f"INSERT INTO flag_timeline ({', '.join(c for c, _ in _TIMELINE_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${i}::{t}[]' for i, (_, t) in enumerate(_TIMELINE_COLUMNS, 1))}) "
    "ON CONFLICT (team_id, scan_id) DO NOTHING RETURNING team_id, scan_id"
)


async def add_to_timeline(conn: asyncpg.Connection, scans: Sequence[TimelineScan]) -> set[tuple[str, str]]:
    """Add the scans not there yet; returns the (team, scan id) pairs added (a scan already judged is not)."""
    if not scans:
        return set()
    ordered = sorted(scans, key=lambda s: (s.team_id, s.scan_id))  # one lock order for concurrent batches
    columns = [[getattr(s, name) for s in ordered] for name, _ in _TIMELINE_COLUMNS]
    rows = await conn.fetch(_ADD_TO_TIMELINE, *columns)
    return {(r["team_id"], r["scan_id"]) for r in rows}


async def member_scans_near(
    conn: asyncpg.Connection, scans: Sequence[TimelineScan], *, near: timedelta, horizon: timedelta
) -> dict[tuple[str, str], list[TimelineScan]]:
    """Each member's timeline around the scans given: every scan within ``near`` of them, and the nearest one
    beyond on each side (within ``horizon``), which is all the rules compare. (team, member) → scans."""
    spans: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    for scan in scans:
        member = (scan.team_id, scan.member_id)
        low, high = spans.get(member, (scan.at, scan.at))
        spans[member] = (min(low, scan.at), max(high, scan.at))
    if not spans:
        return {}
    members = sorted(spans)
    rows = await conn.fetch(
        """
        WITH k AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
                AS k(team_id, member_id, low, high)
        )
        SELECT t.* FROM k JOIN flag_timeline t
            ON t.team_id = k.team_id AND t.member_id = k.member_id AND t.at BETWEEN k.low AND k.high
        UNION
        SELECT b.* FROM k CROSS JOIN LATERAL (
            SELECT * FROM flag_timeline t
            WHERE t.team_id = k.team_id AND t.member_id = k.member_id
              AND t.at < k.low AND t.at >= k.low - $5::interval
            ORDER BY t.at DESC, t.scan_id DESC LIMIT 1) b
        UNION
        SELECT a.* FROM k CROSS JOIN LATERAL (
            SELECT * FROM flag_timeline t
            WHERE t.team_id = k.team_id AND t.member_id = k.member_id
              AND t.at > k.high AND t.at <= k.high + $5::interval
            ORDER BY t.at, t.scan_id LIMIT 1) a
        """,
        [t for t, _ in members], [m for _, m in members], [spans[m][0] - near for m in members],
        [spans[m][1] + near for m in members], horizon,
    )
    found: dict[tuple[str, str], list[TimelineScan]] = {m: [] for m in members}
    for row in rows:
        found[(row["team_id"], row["member_id"])].append(TimelineScan(**dict(row)))
    return found


@dataclass(frozen=True)
class FlagRow:
    team_id: str
    scan_id: str
    kind: str
    member_id: str
    checkpoint_id: str
    device_id: str | None
    scanned_at: datetime
    summary: str
    detail: dict[str, Any]  # the pool's codec writes it as jsonb
    flagged_at: datetime
    event_id: UUID


_FLAG_COLUMNS = [
    ("team_id", "text"), ("scan_id", "text"), ("kind", "text"), ("member_id", "text"), ("checkpoint_id", "text"),
    ("device_id", "text"), ("scanned_at", "timestamptz"), ("summary", "text"), ("detail", "jsonb"),
    ("flagged_at", "timestamptz"), ("event_id", "uuid"),
]
_INSERT_FLAGS = (
    f"INSERT INTO scan_flags ({', '.join(c for c, _ in _FLAG_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${i}::{t}[]' for i, (_, t) in enumerate(_FLAG_COLUMNS, 1))}) "
    "ON CONFLICT (team_id, scan_id, kind) DO NOTHING RETURNING team_id, scan_id, kind"
)


async def insert_flags(conn: asyncpg.Connection, rows: Sequence[FlagRow]) -> set[tuple[str, str, str]]:
    """Store the flags not stored yet; returns the (team, scan id, kind) triples this call stored."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda r: (r.team_id, r.scan_id, r.kind))
    columns = [[getattr(r, name) for r in ordered] for name, _ in _FLAG_COLUMNS]
    inserted = await conn.fetch(_INSERT_FLAGS, *columns)
    return {(r["team_id"], r["scan_id"], r["kind"]) for r in inserted}


@dataclass(frozen=True)
class FlagQuery:
    team_id: str | None = None
    member_id: str | None = None
    scan_id: str | None = None
    kind: str | None = None
    since: datetime | None = None  # scanned_at >= since
    until: datetime | None = None  # scanned_at < until
    # In these areas (a place and those beneath it): the flagged scan counted in a round there, or its checkpoint
    # stands there.
    area: Sequence[str] | None = None


@dataclass(frozen=True)
class ListedFlag:
    seq: int  # the order flags were stored in
    team_id: str
    scan_id: str
    kind: str
    member_id: str
    checkpoint_id: str
    device_id: str | None
    scanned_at: datetime
    summary: str
    detail: dict[str, Any]
    flagged_at: datetime


async def list_flags(conn: asyncpg.Connection, query: FlagQuery, *, limit: int, after: int | None
                     ) -> list[ListedFlag]:
    """Flags in the order they were stored, ``limit`` of them after the one numbered ``after``."""
    rows = await conn.fetch(
        """
        SELECT seq, team_id, scan_id, kind, member_id, checkpoint_id, device_id, scanned_at, summary, detail,
               flagged_at
        FROM scan_flags
        WHERE ($1::text IS NULL OR team_id = $1) AND ($2::text IS NULL OR member_id = $2)
          AND ($3::text IS NULL OR scan_id = $3) AND ($4::text IS NULL OR kind = $4)
          AND ($5::timestamptz IS NULL OR scanned_at >= $5) AND ($6::timestamptz IS NULL OR scanned_at < $6)
          AND ($7::bigint IS NULL OR seq > $7)
          AND ($9::text[] IS NULL
               OR EXISTS (SELECT 1 FROM round_scans rs JOIN rounds r ON r.id = rs.round_id
                          WHERE rs.team_id = scan_flags.team_id AND rs.scan_id = scan_flags.scan_id
                            AND r.area = ANY($9))
               OR EXISTS (SELECT 1 FROM checkpoints c WHERE c.id = scan_flags.checkpoint_id AND c.area = ANY($9)))
        ORDER BY seq
        LIMIT $8
        """,
        query.team_id, query.member_id, query.scan_id, query.kind, query.since, query.until, after, limit,
        query.area,
    )
    return [ListedFlag(**dict(r)) for r in rows]
