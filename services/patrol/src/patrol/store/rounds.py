"""Rounds, their checkpoints and the scans they counted (``rounds``, ``round_checkpoints``, ``round_scans``), and
the compliance figures over them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import asyncpg

from patrol.domain.rounds import Round, RoundState, ScanFact
from patrol.domain.routes import RouteVersion


@dataclass(frozen=True)
class RoundRow:
    """A round as stored: what it was planned as (plan, team, route version, window) and its state."""

    id: str
    plan_id: str
    shift_id: str | None
    team_id: str
    route_id: str
    route_version: int
    area: str | None
    ordered: bool
    night: date
    starts_at: datetime
    ends_at: datetime
    start_due_at: datetime
    closes_at: datetime
    state: str
    started_at: datetime | None
    completed_at: datetime | None
    not_started_raised: bool
    closed: bool
    updated_at: datetime


@dataclass(frozen=True)
class ListedRound(RoundRow):
    expected_checkpoints: int
    scanned_checkpoints: int


@dataclass(frozen=True)
class RoundCheckpointRow:
    checkpoint_id: str
    position: int
    first_scan_at: datetime | None
    missed_raised: bool
    name: str | None  # the checkpoint's name (None only if it is gone)


@dataclass(frozen=True)
class RoundScanRow:
    scan_id: str
    member_id: str
    checkpoint_id: str
    device_time: datetime
    received_at: datetime
    within_radius: bool | None


@dataclass(frozen=True)
class ComplianceRow:
    team_id: str
    area: str | None
    rounds: int
    rounds_completed: int
    rounds_late_or_not_started: int
    expected_checkpoints: int
    scanned_checkpoints: int


_ROUND_ROW = ", ".join(f"r.{f.name}" for f in fields(RoundRow))
_ROUND_SCAN_ROW = ", ".join(f"s.{f.name}" for f in fields(RoundScanRow))


def _round_row(row: asyncpg.Record) -> RoundRow:
    return RoundRow(**{f.name: row[f.name] for f in fields(RoundRow)})

_ROUND_COLUMNS = ("id", "plan_id", "shift_id", "team_id", "route_id", "route_version", "area", "ordered", "night",
                  "starts_at", "ends_at", "start_due_at", "closes_at", "state", "updated_at")
_ROUND_TYPES = ("text", "text", "text", "text", "text", "int4", "text", "bool", "date", "timestamptz",
                "timestamptz", "timestamptz", "timestamptz", "text", "timestamptz")


async def insert_rounds(
    conn: asyncpg.Connection, rounds: Sequence[dict[str, Any]], checkpoint_ids: dict[str, Sequence[str]]
) -> list[str]:
    """Insert the rounds not there yet (a cancelled one of the same slot comes back pending, with the plan's
    team, route and times as they are now); returns the ids inserted or revived, whose timers the caller arms."""
    if not rounds:
        return []
    columns = [[r[name] for r in rounds] for name in _ROUND_COLUMNS]
    params = ", ".join(f"${i}::{t}[]" for i, t in enumerate(_ROUND_TYPES, 1))
    rows = await conn.fetch(
        f"""
        INSERT INTO rounds ({', '.join(_ROUND_COLUMNS)}) SELECT * FROM unnest({params})
        ON CONFLICT (id) DO UPDATE SET
            plan_id = EXCLUDED.plan_id, shift_id = EXCLUDED.shift_id, team_id = EXCLUDED.team_id,
            route_id = EXCLUDED.route_id, route_version = EXCLUDED.route_version, area = EXCLUDED.area,
            ordered = EXCLUDED.ordered, night = EXCLUDED.night, starts_at = EXCLUDED.starts_at,
            ends_at = EXCLUDED.ends_at, start_due_at = EXCLUDED.start_due_at, closes_at = EXCLUDED.closes_at,
            state = 'pending', started_at = NULL, completed_at = NULL, not_started_raised = false, closed = false,
            updated_at = EXCLUDED.updated_at
        WHERE rounds.state = 'cancelled'
        RETURNING id
        """,
        *columns,
    )
    fresh = [r["id"] for r in rows]
    if fresh:
        await conn.execute("DELETE FROM round_checkpoints WHERE round_id = ANY($1::text[])", fresh)
        ids, cps, positions = [], [], []
        for round_id in fresh:
            for position, checkpoint_id in enumerate(checkpoint_ids[round_id]):
                ids.append(round_id)
                cps.append(checkpoint_id)
                positions.append(position)
        await conn.execute(
            """
            INSERT INTO round_checkpoints (round_id, checkpoint_id, position)
            SELECT * FROM unnest($1::text[], $2::text[], $3::int4[])
            """,
            ids, cps, positions,
        )
    return fresh


def _round(row: RoundRow, checkpoints: Sequence[asyncpg.Record]) -> Round:
    ordered = sorted(checkpoints, key=lambda c: c["position"])
    return Round(
        id=row.id, starts_at=row.starts_at, ends_at=row.ends_at, start_due_at=row.start_due_at,
        closes_at=row.closes_at, state=RoundState(row.state),
        checkpoint_ids=[c["checkpoint_id"] for c in ordered],
        first_scan_at={c["checkpoint_id"]: c["first_scan_at"] for c in ordered},
        missed_raised={c["checkpoint_id"] for c in ordered if c["missed_raised"]},
        started_at=row.started_at, completed_at=row.completed_at,
        not_started_raised=row.not_started_raised, closed=row.closed,
    )


async def _lock_rounds(conn: asyncpg.Connection, where: str, *args: Any) -> list[tuple[RoundRow, Round]]:
    """Rounds matching ``where`` locked in id order (every writer locks rounds in that order), with their
    checkpoints."""
    rows = [_round_row(r) for r in
            await conn.fetch(f"SELECT {_ROUND_ROW} FROM rounds r WHERE {where} ORDER BY r.id FOR UPDATE", *args)]
    if not rows:
        return []
    checkpoints = await conn.fetch(
        "SELECT * FROM round_checkpoints WHERE round_id = ANY($1::text[])", [r.id for r in rows])
    by_round: dict[str, list[asyncpg.Record]] = {}
    for c in checkpoints:
        by_round.setdefault(c["round_id"], []).append(c)
    return [(row, _round(row, by_round.get(row.id, []))) for row in rows]


async def lock_round(conn: asyncpg.Connection, round_id: str) -> tuple[RoundRow, Round] | None:
    found = await _lock_rounds(conn, "r.id = $1", round_id)
    return found[0] if found else None


async def lock_pending_of_plan(
    conn: asyncpg.Connection, plan_id: str, *, keep: Sequence[str] = ()
) -> list[tuple[RoundRow, Round]]:
    """The plan's rounds still pending and not yet judged, except ``keep``, locked."""
    return await _lock_rounds(
        conn, "r.plan_id = $1 AND r.state = 'pending' AND NOT r.closed AND NOT (r.id = ANY($2::text[]))",
        plan_id, list(keep))


async def lock_pending_of_route(conn: asyncpg.Connection, route: RouteVersion) -> list[tuple[RoundRow, Round]]:
    """The route's rounds still pending and not yet judged that walk another version than ``route``, locked."""
    return await _lock_rounds(
        conn, "r.route_id = $1 AND r.state = 'pending' AND NOT r.closed AND r.route_version <> $2",
        route.route_id, route.version)


async def move_to_version(conn: asyncpg.Connection, ids: Sequence[str], route: RouteVersion, *, now: datetime
                          ) -> None:
    """The rounds ``ids`` walk ``route`` from now on: its version, area, order and checkpoints."""
    await conn.execute(
        "UPDATE rounds SET route_version = $2, area = $3, ordered = $4, updated_at = $5 WHERE id = ANY($1::text[])",
        list(ids), route.version, route.area, route.ordered, now)
    await conn.execute("DELETE FROM round_checkpoints WHERE round_id = ANY($1::text[])", list(ids))
    await conn.execute(
        """
        INSERT INTO round_checkpoints (round_id, checkpoint_id, position)
        SELECT r, c.id, c.pos - 1 FROM unnest($1::text[]) AS r, unnest($2::text[]) WITH ORDINALITY AS c(id, pos)
        """,
        list(ids), list(route.checkpoint_ids))


async def candidate_rounds(
    conn: asyncpg.Connection, team_ids: Sequence[str], earliest: datetime, latest: datetime
) -> list[tuple[RoundRow, Round]]:
    """The teams' rounds whose windows hold a device time in [earliest, latest]: where a batch's scans may go."""
    return await _lock_rounds(
        conn, "r.team_id = ANY($1::text[]) AND r.starts_at <= $3 AND r.closes_at > $2 AND r.state <> 'cancelled'",
        list(team_ids), earliest, latest,
    )


async def save(conn: asyncpg.Connection, rounds: Iterable[Round], *, now: datetime) -> None:
    rounds = list(rounds)
    if not rounds:
        return
    await conn.execute(
        """
        UPDATE rounds r SET state = u.state, started_at = u.started_at, completed_at = u.completed_at,
            not_started_raised = u.not_started_raised, closed = u.closed, updated_at = $7
        FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bool[], $6::bool[])
            AS u(id, state, started_at, completed_at, not_started_raised, closed)
        WHERE r.id = u.id
        """,
        [r.id for r in rounds], [r.state.value for r in rounds], [r.started_at for r in rounds],
        [r.completed_at for r in rounds], [r.not_started_raised for r in rounds], [r.closed for r in rounds], now,
    )
    ids, cps, firsts, missed = [], [], [], []
    for r in rounds:
        for checkpoint_id in r.checkpoint_ids:
            ids.append(r.id)
            cps.append(checkpoint_id)
            firsts.append(r.first_scan_at.get(checkpoint_id))
            missed.append(checkpoint_id in r.missed_raised)
    await conn.execute(
        """
        UPDATE round_checkpoints c SET first_scan_at = u.first_scan_at, missed_raised = u.missed_raised
        FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bool[])
            AS u(round_id, checkpoint_id, first_scan_at, missed_raised)
        WHERE c.round_id = u.round_id AND c.checkpoint_id = u.checkpoint_id
        """,
        ids, cps, firsts, missed,
    )


async def attached_already(conn: asyncpg.Connection, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    rows = await conn.fetch(
        """
        SELECT s.team_id, s.scan_id FROM round_scans s
        JOIN unnest($1::text[], $2::text[]) AS k(team_id, scan_id) ON s.team_id = k.team_id AND s.scan_id = k.scan_id
        """,
        [t for t, _ in keys], [s for _, s in keys],
    )
    return {(r["team_id"], r["scan_id"]) for r in rows}


async def insert_round_scans(conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str, str, datetime]]) -> None:
    """(team, scan id, round id, checkpoint id, device time) rows."""
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO round_scans (team_id, scan_id, round_id, checkpoint_id, device_time)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
        ON CONFLICT DO NOTHING
        """,
        *[list(column) for column in zip(*rows, strict=True)],
    )


async def unattached_scans(conn: asyncpg.Connection, round_id: str) -> list[ScanFact]:
    """The accepted scans that belong in this round's window at one of its checkpoints but joined no round yet."""
    rows = await conn.fetch(
        """
        SELECT s.team_id, s.scan_id, s.checkpoint_id, s.device_time
        FROM rounds r JOIN round_checkpoints c ON c.round_id = r.id
        JOIN scans s ON s.checkpoint_id = c.checkpoint_id AND s.team_id = r.team_id
             AND s.device_time >= r.starts_at AND s.device_time < r.closes_at
        WHERE r.id = $1
          AND NOT EXISTS (SELECT 1 FROM round_scans rs WHERE rs.team_id = s.team_id AND rs.scan_id = s.scan_id)
        """,
        round_id,
    )
    return [ScanFact(r["team_id"], r["scan_id"], r["checkpoint_id"], r["device_time"]) for r in rows]


async def list_rounds(
    conn: asyncpg.Connection, *, team_id: str | None, route_id: str | None, night: date | None,
    area: Sequence[str] | None, limit: int, after: str | None,
) -> list[ListedRound]:
    rows = await conn.fetch(
        f"""
        SELECT {_ROUND_ROW}, (SELECT count(*) FROM round_checkpoints c WHERE c.round_id = r.id) AS expected_checkpoints,
               (SELECT count(*) FROM round_checkpoints c WHERE c.round_id = r.id AND c.first_scan_at IS NOT NULL)
                   AS scanned_checkpoints
        FROM rounds r
        WHERE ($1::text IS NULL OR r.team_id = $1) AND ($2::text IS NULL OR r.route_id = $2)
          AND ($3::date IS NULL OR r.night = $3) AND ($4::text[] IS NULL OR r.area = ANY($4))
          AND ($5::text IS NULL OR r.id > $5)
        ORDER BY r.id LIMIT $6
        """,
        team_id, route_id, night, area, after, limit,
    )
    return [ListedRound(**{f.name: r[f.name] for f in fields(ListedRound)}) for r in rows]


async def get_round(conn: asyncpg.Connection, round_id: str) -> RoundRow | None:
    row = await conn.fetchrow(f"SELECT {_ROUND_ROW} FROM rounds r WHERE r.id = $1", round_id)
    return None if row is None else _round_row(row)


async def round_checkpoints(conn: asyncpg.Connection, round_id: str) -> list[RoundCheckpointRow]:
    rows = await conn.fetch(
        """
        SELECT c.checkpoint_id, c.position, c.first_scan_at, c.missed_raised, k.name
        FROM round_checkpoints c LEFT JOIN checkpoints k ON k.id = c.checkpoint_id
        WHERE c.round_id = $1 ORDER BY c.position
        """,
        round_id,
    )
    return [RoundCheckpointRow(**dict(r)) for r in rows]


async def round_scans(conn: asyncpg.Connection, round_id: str) -> list[RoundScanRow]:
    rows = await conn.fetch(
        f"""
        SELECT {_ROUND_SCAN_ROW}
        FROM round_scans rs JOIN scans s ON s.team_id = rs.team_id AND s.scan_id = rs.scan_id
        WHERE rs.round_id = $1 ORDER BY s.device_time, s.scan_id
        """,
        round_id,
    )
    return [RoundScanRow(**dict(r)) for r in rows]


async def scan_flags(conn: asyncpg.Connection, round_id: str) -> dict[str, list[Any]] | None:
    """The anti-fraud flags of the round's scans by scan id, once the scan_flags table exists (None before)."""
    if await conn.fetchval("SELECT to_regclass('scan_flags')") is None:
        return None
    rows = await conn.fetch(
        """
        SELECT f.scan_id, to_jsonb(f) AS flag FROM round_scans rs
        JOIN scan_flags f ON f.team_id = rs.team_id AND f.scan_id = rs.scan_id
        WHERE rs.round_id = $1
        """,
        round_id,
    )
    flags: dict[str, list[Any]] = {}
    for r in rows:
        flags.setdefault(r["scan_id"], []).append(r["flag"])
    return flags


async def compliance(
    conn: asyncpg.Connection, *, since: datetime, until: datetime, team_id: str | None,
    area: Sequence[str] | None,
) -> list[ComplianceRow]:
    """Per team and township, over the judged (closed) rounds not cancelled that started in [since, until)."""
    rows = await conn.fetch(
        """
        SELECT r.team_id, r.area,
               count(DISTINCT r.id) AS rounds,
               count(DISTINCT r.id) FILTER (WHERE r.state = 'completed') AS rounds_completed,
               count(DISTINCT r.id) FILTER (WHERE r.started_at IS NULL OR r.started_at > r.start_due_at)
                   AS rounds_late_or_not_started,
               count(c.checkpoint_id) AS expected_checkpoints,
               count(c.first_scan_at) AS scanned_checkpoints
        FROM rounds r JOIN round_checkpoints c ON c.round_id = r.id
        WHERE r.starts_at >= $1 AND r.starts_at < $2 AND r.closed AND r.state <> 'cancelled'
          AND ($3::text IS NULL OR r.team_id = $3) AND ($4::text[] IS NULL OR r.area = ANY($4))
        GROUP BY r.team_id, r.area ORDER BY r.area NULLS LAST, r.team_id
        """,
        since, until, team_id, area,
    )
    return [ComplianceRow(**dict(r)) for r in rows]
