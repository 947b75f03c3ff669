"""/v1/plans: organisers and admins plan patrols (team × route × local window on dates); readers see them.
Plans made from roster shifts (id ``shift:<shift id>``) are listed too; they change only through roster."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from patrol import plans, store_plans
from patrol.context import Context
from patrol.domain.plans import Plan, PlanIn
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_response
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

NO_NUL = r"^[^\x00]*$"  # the schema says what StorableStr refuses

router = APIRouter(prefix="/v1", tags=["plans"])
Planner = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR))]

PLAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same plan (same id, same content) exists already: nothing changed."},
    201: {"description": "Planned; its rounds within the horizon are materialised."},
    409: error_response(409, "A different plan has this id, or the plan overlaps another plan of the team on the "
                             "route (the clash named)."),
    422: error_response(422, "A field is invalid: an unknown route_id, window_end equal to window_start …"),
}


@router.post("/plans", status_code=201, response_model=None, responses=PLAN_RESPONSES)
async def create_plan(plan: PlanIn, ctx: Context, _: Planner) -> JSONResponse:
    """Plan a team's rounds on a route. A plan's id is the client's: posting it again is harmless."""
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            saved = await plans.save_plan(conn, ctx, Plan.from_input(plan), now=ctx.now())
            row = await store_plans.get(conn, saved.plan_id)
    except plans.PlanRefused as refused:
        raise ApiError(refused.status, refused.detail, field=refused.field) from None
    assert row is not None
    status = 201 if saved.outcome is plans.Outcome.CREATED else 200
    return JSONResponse(status_code=status, content={**store_plans.plan_json(row), "outcome": saved.outcome.value,
                                                     "rounds_added": saved.rounds_added})


@router.get("/plans")
async def list_plans(
    ctx: Context, _: Reader,
    team_id: Annotated[StorableStr | None, Query(max_length=64, json_schema_extra={"pattern": NO_NUL})] = None,
    route_id: Annotated[StorableStr | None, Query(max_length=100, json_schema_extra={"pattern": NO_NUL})] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[StorableStr | None, Query(max_length=100, json_schema_extra={"pattern": NO_NUL})] = None,
) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        rows = await store_plans.list_plans(conn, team_id=team_id, route_id=route_id, limit=limit, after=after)
    return {"plans": [store_plans.plan_json(r) for r in rows], "next_after": rows[-1]["id"] if len(rows) == limit
            else None}


@router.get("/plans/{plan_id}")
async def get_plan(plan_id: StorableStr, ctx: Context, _: Reader) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store_plans.get(conn, plan_id)
    if row is None:
        raise ApiError(404, f"no plan {plan_id}")
    return store_plans.plan_json(row)


@router.delete("/plans/{plan_id}")
async def cancel_plan(plan_id: StorableStr, ctx: Context, _: Planner) -> dict[str, Any]:
    """Cancel a plan: its rounds not yet started are cancelled (started ones are judged as they are)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        cancelled = await plans.cancel_plan(conn, ctx, plan_id, now=ctx.now())
    if cancelled is None:
        raise ApiError(404, f"no plan {plan_id}")
    return {"id": plan_id, "cancelled_rounds": cancelled}
