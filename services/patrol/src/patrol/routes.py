"""Routes: create, edit (a new version, published as ``patrol.route-published``), and the same content again is
no edit. One transaction each, route and outbox together. A route's area is a place of the directory, stored by
its code (``areas``): the same route again with its area by name is the same content. And the read side: the
current routes, a route's versions, each with its area's name."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

import asyncpg

from patrol import areas, rounds
from patrol.context import PatrolContext
from patrol.domain.routes import RouteIn, RouteVersion
from patrol.store import checkpoints as store_checkpoints
from patrol.store import routes as store
from pingan_shared.events.catalog import ROUTE_PUBLISHED
from pingan_shared.events.patrol_contracts import RoutePublishedV1
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import NotFound, Refused


class Outcome(StrEnum):
    CREATED = "created"
    NEW_VERSION = "new_version"
    UNCHANGED = "unchanged"


class RouteRefused(Refused):
    """A route the use case will not save."""


@dataclass(frozen=True)
class Saved:
    outcome: Outcome
    route: RouteVersion


async def save_route(
    conn: asyncpg.Connection, ctx: PatrolContext, route_id: str, route: RouteIn, *, must_exist: bool = False,
    create_only: bool = False, area_field: str = "body.area",
) -> Saved:
    """Create the route or, when its content differs from the current version, make the next version.

    ``create_only`` (POST): an existing route with other content is a 409 (edit it with PUT); ``must_exist``
    (PUT on an unknown id) is a 404; an area the directory holds no place of, a 422 naming ``area_field``."""
    unknown = await store_checkpoints.unknown_checkpoints(conn, route.checkpoint_ids)
    if unknown:
        raise RouteRefused(422, f"没有检查点 (unknown checkpoint(s)): {', '.join(unknown[:20])}", "checkpoint_ids")
    route = route.model_copy(update={"area": await areas.area_code(conn, route.area, field=area_field)})
    current = await store.current(conn, route_id, for_update=True)
    if current is None and must_exist:
        raise RouteRefused(404, f"没有路线 {route_id} (no route {route_id})", "route_id")
    if current is not None and current.same_content(route):
        return Saved(Outcome.UNCHANGED, (await _named(conn, [current]))[0])
    if current is not None and create_only:
        raise RouteRefused(409, f"路线 {route_id} 已存在且内容不同，请用 PUT 修改 (route {route_id} exists with other "
                           f"content; edit it with PUT /v1/routes/{{id}})",
                           "id")
    now = ctx.now()
    number = 1 if current is None else current.version + 1
    saved = await store.insert_version(conn, route_id, number, route, now=now)
    await enqueue(conn, [ctx.events.make(ROUTE_PUBLISHED, RoutePublishedV1(
        route_id=route_id, version=number, name=saved.name, area=saved.area, ordered=saved.ordered,
        checkpoint_ids=list(saved.checkpoint_ids), published_at=now), key=route_id)])
    if current is not None:
        await rounds.move_pending_to_version(conn, ctx, saved, now=now)
    return Saved(Outcome.CREATED if current is None else Outcome.NEW_VERSION, (await _named(conn, [saved]))[0])


async def list_routes(conn: asyncpg.Connection, *, limit: int, after: str | None) -> list[RouteVersion]:
    """The current version of each route, by id."""
    return await _named(conn, await store.list_current(conn, limit=limit, after=after))


async def route_history(conn: asyncpg.Connection, route_id: str) -> list[RouteVersion]:
    """Every version of the route, oldest first (the last is the current one)."""
    found = await store.versions(conn, route_id)
    if not found:
        raise NotFound(f"没有路线 {route_id} (no route {route_id})")
    return await _named(conn, found)


async def _named(conn: asyncpg.Connection, versions: list[RouteVersion]) -> list[RouteVersion]:
    names = await areas.area_names(conn, (v.area for v in versions))
    return [replace(v, area_name=names.get(v.area or "")) for v in versions]
