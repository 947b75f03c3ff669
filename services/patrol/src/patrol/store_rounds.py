"""SQL for rounds, their checkpoints and the scans they counted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from patrol.domain.rounds import Round, RoundState

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


def _round(row: asyncpg.Record, checkpoints: Sequence[asyncpg.Record]) -> Round:
    ordered = sorted(checkpoints, key=lambda c: c["position"])
    return Round(
        id=row["id"], starts_at=row["starts_at"], ends_at=row["ends_at"], start_due_at=row["start_due_at"],
        closes_at=row["closes_at"], state=RoundState(row["state"]),
        checkpoint_ids=[c["checkpoint_id"] for c in ordered],
        first_scan_at={c["checkpoint_id"]: c["first_scan_at"] for c in ordered},
        missed_raised={c["checkpoint_id"] for c in ordered if c["missed_raised"]},
        started_at=row["started_at"], completed_at=row["completed_at"],
        not_started_raised=row["not_started_raised"], closed=row["closed"],
    )


async def lock_rounds(
    conn: asyncpg.Connection, where: str, *args: Any
) -> list[tuple[asyncpg.Record, Round]]:
    """Rounds matching ``where`` locked in id order (every writer locks rounds in that order), with their
    checkpoints."""
    rows = await conn.fetch(f"SELECT * FROM rounds WHERE {where} ORDER BY id FOR UPDATE", *args)
    if not rows:
        return []
    checkpoints = await conn.fetch(
        "SELECT * FROM round_checkpoints WHERE round_id = ANY($1::text[])", [r["id"] for r in rows])
    by_round: dict[str, list[asyncpg.Record]] = {}
    for c in checkpoints:
        by_round.setdefault(c["round_id"], []).append(c)
    return [(row, _round(row, by_round.get(row["id"], []))) for row in rows]


async def lock_round(conn: asyncpg.Connection, round_id: str) -> tuple[asyncpg.Record, Round] | None:
    found = await lock_rounds(conn, "id = $1", round_id)
    return found[0] if found else None


async def candidate_rounds(
    conn: asyncpg.Connection, team_ids: Sequence[str], earliest: datetime, latest: datetime
) -> list[tuple[asyncpg.Record, Round]]:
    """The teams' rounds whose windows hold a device time in [earliest, latest]: where a batch's scans may go."""
    return await lock_rounds(
        conn, "team_id = ANY($1::text[]) AND starts_at <= $3 AND closes_at > $2 AND state <> 'cancelled'",
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


async def list_rounds(
    conn: asyncpg.Connection, *, team_id: str | None, route_id: str | None, night: date | None,
    area: str | None, limit: int, after: str | None,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT r.*, (SELECT count(*) FROM round_checkpoints c WHERE c.round_id = r.id) AS expected_checkpoints,
               (SELECT count(*) FROM round_checkpoints c WHERE c.round_id = r.id AND c.first_scan_at IS NOT NULL)
                   AS scanned_checkpoints
        FROM rounds r
        WHERE ($1::text IS NULL OR r.team_id = $1) AND ($2::text IS NULL OR r.route_id = $2)
          AND ($3::date IS NULL OR r.night = $3) AND ($4::text IS NULL OR r.area = $4)
          AND ($5::text IS NULL OR r.id > $5)
        ORDER BY r.id LIMIT $6
        """,
        team_id, route_id, night, area, after, limit,
    )


async def get_round(conn: asyncpg.Connection, round_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM rounds WHERE id = $1", round_id)


async def round_checkpoints(conn: asyncpg.Connection, round_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT c.checkpoint_id, c.position, c.first_scan_at, c.missed_raised, k.name
        FROM round_checkpoints c LEFT JOIN checkpoints k ON k.id = c.checkpoint_id
        WHERE c.round_id = $1 ORDER BY c.position
        """,
        round_id,
    )


async def round_scans(conn: asyncpg.Connection, round_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT s.* FROM round_scans rs JOIN scans s ON s.team_id = rs.team_id AND s.scan_id = rs.scan_id
        WHERE rs.round_id = $1 ORDER BY s.device_time, s.scan_id
        """,
        round_id,
    )


async def checkpoint_names(conn: asyncpg.Connection, ids: Iterable[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, name FROM checkpoints WHERE id = ANY($1::text[])", list(set(ids)))
    return {r["id"]: r["name"] for r in rows}


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
