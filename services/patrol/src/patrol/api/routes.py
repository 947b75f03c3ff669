"""/v1/routes: organisers and admins define routes (an edit is a new version); readers see them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from patrol import routes
from patrol.context import Context
from patrol.domain.routes import NewRouteIn, RouteIn, RouteVersion
from pingan_shared.auth import Principal, Role
from pingan_shared.http.openapi import error_response, error_responses
from pingan_shared.http.paging import After, Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["routes"])
Editor = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR,
                                                    Role.PATROL_DEVICE))]

CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same route (same content) exists already: nothing changed."},
    201: {"description": "Created as version 1 and published (patrol.route-published)."},
    409: error_response(409, "The route exists with other content: edit it with PUT."),
    422: error_response(422, "A field is invalid, e.g. an unknown checkpoint in checkpoint_ids, or an area the "
                             "directory holds no place of (body.area)."),
}
EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A new version (published), or the same content again (unchanged)."},
    404: error_response(404, "No such route."),
    422: error_response(422, "A field is invalid, e.g. an unknown checkpoint in checkpoint_ids, or an area the "
                             "directory holds no place of (body.area)."),
}


class RouteOut(BaseModel):
    id: str
    version: int
    name: str
    area: str | None  # the place's directory code
    area_name: str | None  # its name in the directory (null when the directory does not hold the area)
    ordered: bool
    checkpoint_ids: list[str]


class RouteWithVersions(RouteOut):
    """The current version, and every version (oldest first, the current one last)."""

    versions: list[RouteOut]


def route_json(route: RouteVersion, outcome: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": route.route_id, "version": route.version, "name": route.name, "area": route.area,
                           "area_name": route.area_name, "ordered": route.ordered,
                           "checkpoint_ids": list(route.checkpoint_ids)}
    if outcome is not None:
        out["outcome"] = outcome
    return out


@router.post("/routes", status_code=201, response_model=None, responses=CREATE_RESPONSES)
async def create_route(route: NewRouteIn, ctx: Context, _: Editor) -> JSONResponse:
    """Create a route (ordered or unordered set of checkpoints) in the place ``area`` names (a directory code or a
    place's unique name; the code is stored)."""
    body = RouteIn(**route.model_dump(exclude={"id"}))
    async with ctx.runtime.connection() as conn, conn.transaction():
        saved = await routes.save_route(conn, ctx, route.id, body, create_only=True)
    status = 201 if saved.outcome is routes.Outcome.CREATED else 200
    return JSONResponse(status_code=status, content=route_json(saved.route, saved.outcome.value))


@router.put("/routes/{route_id}", response_model=None, responses=EDIT_RESPONSES)
async def edit_route(route_id: StorableStr, route: RouteIn, ctx: Context, _: Editor) -> JSONResponse:
    """Edit a route: a new version, published; rounds already started keep the version they started with."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        saved = await routes.save_route(conn, ctx, route_id, route, must_exist=True)
    return JSONResponse(status_code=200, content=route_json(saved.route, saved.outcome.value))


@router.get("/routes", response_model=Page[RouteOut])
async def list_routes(ctx: Context, _: Reader, limit: Limit = 200, after: After = None) -> Page[RouteOut]:
    """The current version of each route, by id."""
    async with ctx.runtime.connection() as conn:
        found = await routes.list_routes(conn, limit=limit, after=after)
    return page_of([RouteOut(**route_json(r)) for r in found], limit, lambda r: r.id)


@router.get("/routes/{route_id}", response_model=RouteWithVersions, responses=error_responses(404))
async def get_route(route_id: StorableStr, ctx: Context, _: Reader) -> RouteWithVersions:
    """The current version and every earlier one."""
    async with ctx.runtime.connection() as conn:
        found = await routes.route_history(conn, route_id)
    return RouteWithVersions(**route_json(found[-1]), versions=[RouteOut(**route_json(v)) for v in found])
