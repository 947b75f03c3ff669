"""Routes: create, edit (a new version, published as ``patrol.route-published``), and the same content again is
no edit. One transaction each, route and outbox together. And the read side: the current routes, a route's
versions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from patrol import rounds
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
    create_only: bool = False,
) -> Saved:
    """Create the route or, when its content differs from the current version, make the next version.

    ``create_only`` (POST): an existing route with other content is a 409 (edit it with PUT); ``must_exist``
    (PUT on an unknown id) is a 404."""
    unknown = await store_checkpoints.unknown_checkpoints(conn, route.checkpoint_ids)
    if unknown:
        raise RouteRefused(422, f"没有检查点 (unknown checkpoint(s)): {', '.join(unknown[:20])}", "checkpoint_ids")
    current = await store.current(conn, route_id, for_update=True)
    if current is None and must_exist:
        raise RouteRefused(404, f"没有路线 {route_id} (no route {route_id})", "route_id")
    if current is not None and current.same_content(route):
        return Saved(Outcome.UNCHANGED, current)
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
    return Saved(Outcome.CREATED if current is None else Outcome.NEW_VERSION, saved)


async def list_routes(conn: asyncpg.Connection, *, limit: int, after: str | None) -> list[RouteVersion]:
    """The current version of each route, by id."""
    return await store.list_current(conn, limit=limit, after=after)


async def route_history(conn: asyncpg.Connection, route_id: str) -> list[RouteVersion]:
    """Every version of the route, oldest first (the last is the current one)."""
    found = await store.versions(conn, route_id)
    if not found:
        raise NotFound(f"没有路线 {route_id} (no route {route_id})")
    return found
