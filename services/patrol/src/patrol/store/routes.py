"""Routes and their versions (``routes``, ``route_versions``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from patrol.domain.routes import RouteIn, RouteVersion


def _version(row: asyncpg.Record) -> RouteVersion:
    return RouteVersion(row["route_id"], row["version"], row["name"], row["area"], row["ordered"],
                        tuple(row["checkpoint_ids"]))


async def current(conn: asyncpg.Connection, route_id: str, *, for_update: bool = False) -> RouteVersion | None:
    row = await conn.fetchrow(
        f"""
        SELECT v.* FROM routes r JOIN route_versions v ON v.route_id = r.id AND v.version = r.current_version
        WHERE r.id = $1 {'FOR UPDATE OF r' if for_update else ''}
        """,
        route_id,
    )
    return _version(row) if row else None


async def name_of(conn: asyncpg.Connection, route_id: str, number: int) -> str | None:
    """The name of one version of a route."""
    name: str | None = await conn.fetchval(
        "SELECT name FROM route_versions WHERE route_id = $1 AND version = $2", route_id, number)
    return name


async def versions(conn: asyncpg.Connection, route_id: str) -> list[RouteVersion]:
    rows = await conn.fetch("SELECT * FROM route_versions WHERE route_id = $1 ORDER BY version", route_id)
    return [_version(r) for r in rows]


async def insert_version(
    conn: asyncpg.Connection, route_id: str, number: int, route: RouteIn, *, now: datetime
) -> RouteVersion:
    if number == 1:
        await conn.execute("INSERT INTO routes (id, current_version, created_at) VALUES ($1, 1, $2)", route_id, now)
    else:
        await conn.execute("UPDATE routes SET current_version = $2 WHERE id = $1", route_id, number)
    await conn.execute(
        """
        INSERT INTO route_versions (route_id, version, name, area, ordered, checkpoint_ids, published_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        route_id, number, route.name, route.area, route.ordered, list(route.checkpoint_ids), now,
    )
    return RouteVersion(route_id, number, route.name, route.area, route.ordered, tuple(route.checkpoint_ids))


async def list_current(conn: asyncpg.Connection, *, limit: int, after: str | None) -> list[RouteVersion]:
    rows = await conn.fetch(
        """
        SELECT v.* FROM routes r JOIN route_versions v ON v.route_id = r.id AND v.version = r.current_version
        WHERE ($1::text IS NULL OR r.id > $1) ORDER BY r.id LIMIT $2
        """,
        after, limit,
    )
    return [_version(r) for r in rows]
