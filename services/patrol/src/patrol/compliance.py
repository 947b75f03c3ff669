"""Compliance per team and township over a period: completed checkpoints ÷ expected, over the planned rounds
that started in the period and have been judged (closed). Voluntary scans (outside any planned round) never
count: they attach to no round. Cancelled rounds are not expected."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from patrol.store import rounds as store


async def compliance(
    conn: asyncpg.Connection, *, since: datetime, until: datetime, team_id: str | None, area: str | None,
) -> list[dict[str, Any]]:
    rows = await store.compliance(conn, since=since, until=until, team_id=team_id, area=area)
    return [{
        "team_id": r.team_id, "area": r.area, "rounds": r.rounds, "rounds_completed": r.rounds_completed,
        "rounds_late_or_not_started": r.rounds_late_or_not_started,
        "expected_checkpoints": r.expected_checkpoints,
        "scanned_checkpoints": r.scanned_checkpoints,
        "compliance": round(r.scanned_checkpoints / r.expected_checkpoints, 4) if r.expected_checkpoints else None,
    } for r in rows]
