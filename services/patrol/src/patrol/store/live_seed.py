"""The live view's state as the record holds it, in the stream's own shapes (``patrol.live.reading.Seed``): what a
live view rebuilt after a broker loss starts from (``patrol.live.record.seed``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

# A route counts in its current version, as in the record's views (store/coverage.py)
_ROUTES = """
SELECT v.route_id, v.version, v.name, v.area, v.checkpoint_ids
FROM routes r JOIN route_versions v ON v.route_id = r.id AND v.version = r.current_version
"""
# The night of an instant, as patrol.live.night.night_of: local time moved back by the noon turn, its date
_VISITS = """
SELECT DISTINCT ((device_time AT TIME ZONE $2) - $3::interval)::date AS night, checkpoint_id, member_id
FROM scans WHERE device_time >= $1
"""
_ROUNDS = """
SELECT ((starts_at AT TIME ZONE $2) - $3::interval)::date AS night, id, route_id, not_started_raised,
       started_at IS NOT NULL AS started
FROM rounds WHERE starts_at >= $1
"""


async def routes(conn: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    """Route id → its current version as the stream's ``routes`` table holds one."""
    return {row["route_id"]: {"version": row["version"], "name": row["name"], "area": row["area"],
                              "checkpoint_ids": list(row["checkpoint_ids"])}
            for row in await conn.fetch(_ROUTES)}


async def visits(conn: asyncpg.Connection, since: datetime, zone: str, turn: timedelta
                 ) -> dict[date, set[tuple[str, str]]]:
    """Night → (checkpoint id, member id) scanned in it, for scans from ``since``."""
    by_night: dict[date, set[tuple[str, str]]] = {}
    for row in await conn.fetch(_VISITS, since, zone, turn):
        by_night.setdefault(row["night"], set()).add((row["checkpoint_id"], row["member_id"]))
    return by_night


async def rounds(conn: asyncpg.Connection, since: datetime, zone: str, turn: timedelta
                 ) -> dict[date, dict[str, dict[str, Any]]]:
    """Night → round id → its flags as the stream's ``rounds`` table holds them, for rounds starting from ``since``."""
    by_night: dict[date, dict[str, dict[str, Any]]] = {}
    for row in await conn.fetch(_ROUNDS, since, zone, turn):
        by_night.setdefault(row["night"], {})[row["id"]] = {
            "route_id": row["route_id"], "not_started": row["not_started_raised"], "started": row["started"]}
    return by_night
