"""Compliance per team and township over a period: completed checkpoints ÷ expected, over the planned rounds
that started in the period and have been judged (closed). Voluntary scans (outside any planned round) never
count: they attach to no round. Cancelled rounds are not expected."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


async def compliance(
    conn: asyncpg.Connection, *, since: datetime, until: datetime, team_id: str | None, area: str | None,
) -> list[dict[str, Any]]:
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
          AND ($3::text IS NULL OR r.team_id = $3) AND ($4::text IS NULL OR r.area = $4)
        GROUP BY r.team_id, r.area ORDER BY r.area NULLS LAST, r.team_id
        """,
        since, until, team_id, area,
    )
    return [{
        "team_id": r["team_id"], "area": r["area"], "rounds": r["rounds"], "rounds_completed": r["rounds_completed"],
        "rounds_late_or_not_started": r["rounds_late_or_not_started"],
        "expected_checkpoints": r["expected_checkpoints"],
        "scanned_checkpoints": r["scanned_checkpoints"],
        "compliance": round(r["scanned_checkpoints"] / r["expected_checkpoints"], 4)
        if r["expected_checkpoints"] else None,
    } for r in rows]
