"""The record: tonight's coverage computed from patrol's PostgreSQL tables, with the definitions the stream uses
(``coverage.py``). The live view must equal this once the stream has caught up; the tests hold it to that.

Routes count in their current version (``routes.current_version``: the version last published); scans by
device time inside the night's bounds (``night.night_bounds``); rounds by their expected start inside them,
late when ``patrol.round-not-started`` was raised and no scan started the round. The SQL is
``patrol.store.coverage``.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import asyncpg

from patrol.live.coverage import Coverage
from patrol.live.night import night_bounds
from patrol.store import coverage as store


async def recorded_coverage(conn: asyncpg.Connection, night: date, zone: ZoneInfo, *,
                            route: str | None = None, township: str | None = None) -> Coverage:
    start, end = night_bounds(night, zone)
    routes = await store.route_coverage(conn, start, end, route=route, township=township)
    townships = await store.township_coverage(conn, start, end, route=route, township=township)
    # sorted here as coverage.compute sorts (code points; the database's collation may order Chinese otherwise)
    routes.sort(key=lambda r: r.route_id)
    townships.sort(key=lambda t: (t.township is None, t.township or ""))
    return Coverage(routes=routes, townships=townships)
