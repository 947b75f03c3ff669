"""A night's coverage as the record holds it (``routes``, ``route_versions``, ``rounds``, ``scans``), with the
definitions the live stream uses (``patrol.live.coverage``); ``patrol.live.record`` asks for it."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from patrol.live.coverage import RouteCoverage, TownshipCoverage

_ROUTES = """
WITH latest AS (
    SELECT v.route_id, v.version, v.name, v.area, v.checkpoint_ids
    FROM routes r JOIN route_versions v ON v.route_id = r.id AND v.version = r.current_version
    WHERE ($3::text IS NULL OR r.id = $3) AND ($4::text IS NULL OR v.area = $4)
), visits AS (
    SELECT DISTINCT checkpoint_id, member_id FROM scans WHERE device_time >= $1 AND device_time < $2
)
SELECT l.route_id, l.version, l.name, l.area,
       (SELECT count(DISTINCT c) FROM unnest(l.checkpoint_ids) AS c) AS checkpoints_total,
       ARRAY(SELECT DISTINCT s.checkpoint_id FROM visits s WHERE s.checkpoint_id = ANY (l.checkpoint_ids)
             ORDER BY 1) AS covered,
       (SELECT count(DISTINCT s.member_id) FROM visits s WHERE s.checkpoint_id = ANY (l.checkpoint_ids))
           AS patrollers,
       ARRAY(SELECT r.id FROM rounds r
             WHERE r.route_id = l.route_id AND r.starts_at >= $1 AND r.starts_at < $2
               AND r.not_started_raised AND r.started_at IS NULL
             ORDER BY 1) AS late
FROM latest l
ORDER BY l.route_id
"""

_TOWNSHIPS = """
WITH latest AS (
    SELECT v.route_id, v.area, v.checkpoint_ids
    FROM routes r JOIN route_versions v ON v.route_id = r.id AND v.version = r.current_version
    WHERE ($3::text IS NULL OR r.id = $3) AND ($4::text IS NULL OR v.area = $4)
), route_checkpoints AS (
    SELECT DISTINCT l.area, c AS checkpoint_id FROM latest l, unnest(l.checkpoint_ids) AS c
), visits AS (
    SELECT DISTINCT checkpoint_id, member_id FROM scans WHERE device_time >= $1 AND device_time < $2
), late AS (
    SELECT l.area, count(*) AS n FROM latest l JOIN rounds r ON r.route_id = l.route_id
    WHERE r.starts_at >= $1 AND r.starts_at < $2 AND r.not_started_raised AND r.started_at IS NULL
    GROUP BY l.area
)
SELECT a.area,
       (SELECT count(*) FROM latest l WHERE l.area IS NOT DISTINCT FROM a.area) AS routes,
       (SELECT count(*) FROM route_checkpoints rc WHERE rc.area IS NOT DISTINCT FROM a.area) AS checkpoints_total,
       (SELECT count(DISTINCT rc.checkpoint_id) FROM route_checkpoints rc JOIN visits s USING (checkpoint_id)
        WHERE rc.area IS NOT DISTINCT FROM a.area) AS covered,
       (SELECT count(DISTINCT s.member_id) FROM route_checkpoints rc JOIN visits s USING (checkpoint_id)
        WHERE rc.area IS NOT DISTINCT FROM a.area) AS patrollers,
       coalesce((SELECT n FROM late WHERE late.area IS NOT DISTINCT FROM a.area), 0) AS late
FROM (SELECT DISTINCT area FROM latest) a
ORDER BY a.area IS NULL, a.area
"""


async def route_coverage(conn: asyncpg.Connection, start: datetime, end: datetime, *, route: str | None,
                         township: str | None) -> list[RouteCoverage]:
    """Each route's figures over [start, end), by route id as the database orders it."""
    return [
        RouteCoverage(
            route_id=row["route_id"], version=row["version"], name=row["name"], township=row["area"],
            checkpoints_total=row["checkpoints_total"], checkpoints_covered=len(row["covered"]),
            covered_checkpoint_ids=list(row["covered"]), active_patrollers=row["patrollers"],
            rounds_late=len(row["late"]), late_round_ids=list(row["late"]),
        )
        for row in await conn.fetch(_ROUTES, start, end, route, township)
    ]


async def township_coverage(conn: asyncpg.Connection, start: datetime, end: datetime, *, route: str | None,
                            township: str | None) -> list[TownshipCoverage]:
    """Each township's figures over [start, end)."""
    return [
        TownshipCoverage(township=row["area"], routes=row["routes"], checkpoints_total=row["checkpoints_total"],
                         checkpoints_covered=row["covered"], active_patrollers=row["patrollers"],
                         rounds_late=row["late"])
        for row in await conn.fetch(_TOWNSHIPS, start, end, route, township)
    ]
