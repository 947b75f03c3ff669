"""The hazard_reports table: a report per (team, client hazard id), with patrol's hazard id and its event, and what
inspection answered of it (migration 0005)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class HazardRow:
    team_id: str
    client_hazard_id: str
    hazard_id: str
    member_id: str
    device_id: str
    category: str
    description: str
    place: str
    latitude: float | None
    longitude: float | None
    photo_refs: list[str]
    unit_id: str | None
    reported_at: datetime
    received_at: datetime
    fingerprint: str
    event_id: UUID


_COLUMNS = ("team_id", "client_hazard_id", "hazard_id", "member_id", "device_id", "category", "description", "place",
            "latitude", "longitude", "photo_refs", "unit_id", "reported_at", "received_at", "fingerprint", "event_id")
_INSERT = (
    f"INSERT INTO hazard_reports ({', '.join(_COLUMNS)}) VALUES ({', '.join(f'${i}' for i in range(1, 17))}) "
    "ON CONFLICT (team_id, client_hazard_id) DO NOTHING RETURNING 1"
)


@dataclass(frozen=True)
class StoredHazard:
    """A stored report: its number in the order received, what patrol answers of it and its fingerprint."""

    seq: int
    hazard_id: str
    client_hazard_id: str
    team_id: str
    member_id: str
    device_id: str
    category: str
    description: str
    place: str
    latitude: float | None
    longitude: float | None
    photo_refs: list[str]
    unit_id: str | None
    reported_at: datetime
    received_at: datetime
    fingerprint: str
    inspection_problems: list[dict[str, Any]] | None = None
    inspection_task_id: str | None = None

    def public(self) -> dict[str, Any]:
        """The report as answered: neither its number nor its fingerprint."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("seq", "fingerprint")}


_STORED = ", ".join(f.name for f in fields(StoredHazard))


def _stored(row: asyncpg.Record) -> StoredHazard:
    return StoredHazard(**{f.name: row[f.name] for f in fields(StoredHazard)})


async def insert(conn: asyncpg.Connection, row: HazardRow) -> bool:
    """False when the team already sent a report under this client hazard id."""
    inserted = await conn.fetchval(_INSERT, *(getattr(row, c) for c in _COLUMNS))
    return inserted is not None


async def answer_sequence_for_update(conn: asyncpg.Connection, hazard_id: str) -> tuple[bool, int | None]:
    """Whether patrol has the hazard, and the highest inspection answer sequence applied to it; the row locked."""
    row = await conn.fetchrow(
        "SELECT inspection_sequence FROM hazard_reports WHERE hazard_id = $1 FOR UPDATE", hazard_id)
    return (False, None) if row is None else (True, row["inspection_sequence"])


async def record_answer(conn: asyncpg.Connection, hazard_id: str, *, problems: list[dict[str, Any]],
                        task_id: str | None, sequence: int | None, at: datetime) -> None:
    await conn.execute(
        "UPDATE hazard_reports SET inspection_problems = $2, inspection_task_id = $3, inspection_sequence = $4, "
        "inspection_answered_at = $5 WHERE hazard_id = $1",
        hazard_id, problems, task_id, sequence, at)


async def by_client_id(conn: asyncpg.Connection, team_id: str, client_hazard_id: str) -> StoredHazard | None:
    row = await conn.fetchrow(
        f"SELECT {_STORED} FROM hazard_reports WHERE team_id = $1 AND client_hazard_id = $2",
        team_id, client_hazard_id)
    return None if row is None else _stored(row)


async def listing(conn: asyncpg.Connection, *, team_id: str | None, since: datetime | None, until: datetime | None,
                  limit: int, after: int | None, area: str | None = None) -> list[StoredHazard]:
    """Reports in the order they arrived, ``limit`` of them after the one numbered ``after``. With ``area``, only
    those seen on a round in that area: the reporting team had a round there, not cancelled (a plan moved to
    another area cancels its pending rounds), whose window held ``reported_at`` (a report made off-round belongs
    to no area, so only unscoped overseers see it)."""
    rows = await conn.fetch(
        f"""
        SELECT {_STORED} FROM hazard_reports h
        WHERE ($1::text IS NULL OR team_id = $1) AND ($2::timestamptz IS NULL OR received_at >= $2)
          AND ($3::timestamptz IS NULL OR received_at < $3) AND ($4::bigint IS NULL OR seq > $4)
          AND ($6::text[] IS NULL OR EXISTS (
                SELECT 1 FROM rounds r WHERE r.team_id = h.team_id AND r.area = ANY($6) AND r.state <> 'cancelled'
                  AND r.starts_at <= h.reported_at AND h.reported_at < r.closes_at))
        ORDER BY seq LIMIT $5
        """,
        team_id, since, until, after, limit, area,
    )
    return [_stored(r) for r in rows]
