"""/v1/routes: organisers and admins define routes (an edit is a new version); readers see them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from patrol import routes, store_routes
from patrol.context import Context
from patrol.domain.routes import NewRouteIn, RouteIn, RouteVersion
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_response
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

NO_NUL = r"^[^\x00]*$"  # the schema says what StorableStr refuses

router = APIRouter(prefix="/v1", tags=["routes"])
Editor = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR,
                                                    Role.PATROL_DEVICE))]

CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same route (same content) exists already: nothing changed."},
    201: {"description": "Created as version 1 and published (patrol.route-published)."},
    409: error_response(409, "The route exists with other content: edit it with PUT."),
    422: error_response(422, "A field is invalid, e.g. an unknown checkpoint in checkpoint_ids."),
}
EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A new version (published), or the same content again (unchanged)."},
    404: error_response(404, "No such route."),
    422: error_response(422, "A field is invalid, e.g. an unknown checkpoint in checkpoint_ids."),
}


def route_json(route: RouteVersion, outcome: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": route.route_id, "version": route.version, "name": route.name, "area": route.area,
                           "ordered": route.ordered, "checkpoint_ids": list(route.checkpoint_ids)}
    if outcome is not None:
        out["outcome"] = outcome
    return out


@router.post("/routes", status_code=201, response_model=None, responses=CREATE_RESPONSES)
async def create_route(route: NewRouteIn, ctx: Context, _: Editor) -> JSONResponse:
    """Create a route (ordered or unordered set of checkpoints)."""
    body = RouteIn(**route.model_dump(exclude={"id"}))
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            saved = await routes.save_route(conn, ctx, route.id, body, create_only=True)
    except routes.RouteRefused as refused:
        raise ApiError(refused.status, refused.detail, field=refused.field) from None
    status = 201 if saved.outcome is routes.Outcome.CREATED else 200
    return JSONResponse(status_code=status, content=route_json(saved.route, saved.outcome.value))


@router.put("/routes/{route_id}", response_model=None, responses=EDIT_RESPONSES)
async def edit_route(route_id: StorableStr, route: RouteIn, ctx: Context, _: Editor) -> JSONResponse:
    """Edit a route: a new version, published; rounds already started keep the version they started with."""
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            saved = await routes.save_route(conn, ctx, route_id, route, must_exist=True)
    except routes.RouteRefused as refused:
        raise ApiError(refused.status, refused.detail, field=refused.field) from None
    return JSONResponse(status_code=200, content=route_json(saved.route, saved.outcome.value))


@router.get("/routes")
async def list_routes(
    ctx: Context, _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[StorableStr | None, Query(max_length=100, json_schema_extra={"pattern": NO_NUL})] = None,
) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        found = await store_routes.list_current(conn, limit=limit, after=after)
    return {"routes": [route_json(r) for r in found], "next_after": found[-1].route_id if len(found) == limit else None}


@router.get("/routes/{route_id}")
async def get_route(route_id: StorableStr, ctx: Context, _: Reader) -> dict[str, Any]:
    """The current version and every earlier one."""
    async with ctx.runtime.connection() as conn:
        found = await store_routes.versions(conn, route_id)
    if not found:
        raise ApiError(404, f"no route {route_id}")
    return {**route_json(found[-1]), "versions": [route_json(v) for v in found]}
