"""Compliance per team and area over a period, and rolled up per township (镇街): completed checkpoints ÷ expected,
over the planned rounds that started in the period and have been judged (closed). Voluntary scans (outside any
planned round) never count: they attach to no round. Cancelled rounds are not expected."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from patrol.areas import area_names
from patrol.store import rounds as store
from pingan_shared.directory.doors import PLACES, find, location_of
from pingan_shared.directory.entries import Entry


async def compliance(
    conn: asyncpg.Connection, *, since: datetime, until: datetime, team_id: str | None,
    area: Sequence[str] | None,
) -> list[dict[str, Any]]:
    rows = await store.compliance(conn, since=since, until=until, team_id=team_id, area=area)
    names = await area_names(conn, (r.area for r in rows))
    return [{
        "team_id": r.team_id, "area": r.area, "area_name": names.get(r.area or ""), "rounds": r.rounds,
        "rounds_completed": r.rounds_completed,
        "rounds_late_or_not_started": r.rounds_late_or_not_started,
        "expected_checkpoints": r.expected_checkpoints,
        "scanned_checkpoints": r.scanned_checkpoints,
        "compliance": round(r.scanned_checkpoints / r.expected_checkpoints, 4) if r.expected_checkpoints else None,
    } for r in rows]


async def by_township(conn: asyncpg.Connection, teams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-team rows rolled up to the township (镇街) their area lies in, by the directory's copy: a village's or a
    grid's rounds count for its township. An area the directory does not place is a township of its own name
    (``township`` null), so nothing is left out of the sums."""
    sums: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    townships: dict[str, Entry | None] = {}  # by area: several teams walk one area
    for row in teams:
        area = row["area"]
        if area and area not in townships:
            place = await find(conn, area, kinds=PLACES)
            townships[area] = (await location_of(conn, place.code)).township if place else None
        township = townships.get(area) if area else None
        key = (township.code, township.name) if township else (None, area)
        total = sums.setdefault(key, {"township": key[0], "name": key[1], "rounds": 0, "rounds_completed": 0,
                                      "rounds_late_or_not_started": 0, "expected_checkpoints": 0,
                                      "scanned_checkpoints": 0})
        for figure in ("rounds", "rounds_completed", "rounds_late_or_not_started", "expected_checkpoints",
                       "scanned_checkpoints"):
            total[figure] += row[figure]
    return [{**t, "compliance": round(t["scanned_checkpoints"] / t["expected_checkpoints"], 4)
             if t["expected_checkpoints"] else None}
            for t in sorted(sums.values(), key=lambda t: (t["township"] is None, t["township"] or "", t["name"] or ""))]
