"""/v1/plans: organisers and admins plan patrols (team × route × local window on dates); readers see them.
Plans made from roster shifts (id ``shift:<shift id>``) are listed too; they change only through roster."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from patrol import plans
from patrol.context import Context
from patrol.domain.plans import Plan, PlanIn
from pingan_shared.auth import Principal, Role
from pingan_shared.http.openapi import error_response, error_responses
from pingan_shared.http.paging import After, Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import NO_NUL
from pingan_shared.refused import NotFound
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["plans"])
Planner = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR))]

_LOCAL_TIME = r"^[0-2][0-9]:[0-5][0-9]$"


class PlanOut(BaseModel):
    """A plan as stored: what was planned, the instants it covers, and when it was made, changed or cancelled."""

    id: str
    team_id: str
    route_id: str
    first_date: date
    last_date: date
    window_start: str = Field(pattern=_LOCAL_TIME, description="local time, HH:MM")
    window_end: str = Field(pattern=_LOCAL_TIME, description="local time, HH:MM")
    timezone: str
    every_minutes: int | None
    rounds_per_night: int | None
    start_grace_minutes: int
    checkpoint_grace_minutes: int
    shift_id: str | None
    covers_from: datetime
    covers_until: datetime
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SavedPlan(PlanOut):
    outcome: Literal["created", "updated", "unchanged"]
    rounds_added: int


PLAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": SavedPlan, "description": "The same plan (same id, same content) exists already: nothing changed."},
    201: {"model": SavedPlan, "description": "Planned; its rounds within the horizon are materialised."},
    409: error_response(409, "A different plan has this id, or the plan overlaps another plan of the team on the "
                             "route (the clash named)."),
    422: error_response(422, "A field is invalid: an unknown route_id, window_end equal to window_start …"),
}


def plan_out(row: plans.PlanRow) -> PlanOut:
    return PlanOut(
        id=row.id, team_id=row.team_id, route_id=row.route_id, first_date=row.first_date, last_date=row.last_date,
        window_start=row.window_start.strftime("%H:%M"), window_end=row.window_end.strftime("%H:%M"),
        timezone=row.timezone, every_minutes=row.every_minutes, rounds_per_night=row.rounds_per_night,
        start_grace_minutes=row.start_grace_minutes, checkpoint_grace_minutes=row.checkpoint_grace_minutes,
        shift_id=row.shift_id, covers_from=row.covers_from, covers_until=row.covers_until,
        cancelled_at=row.cancelled_at, created_at=row.created_at, updated_at=row.updated_at,
    )


@router.post("/plans", status_code=201, response_model=None, responses=PLAN_RESPONSES)
async def create_plan(plan: PlanIn, ctx: Context, _: Planner) -> JSONResponse:
    """Plan a team's rounds on a route. A plan's id is the client's: posting it again is harmless."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        saved = await plans.plan_by_hand(conn, ctx, Plan.from_input(plan), now=ctx.now())
        row = await plans.get_plan(conn, saved.plan_id)
    status = 201 if saved.outcome is plans.Outcome.CREATED else 200
    body = SavedPlan(**plan_out(row).model_dump(), outcome=saved.outcome.value, rounds_added=saved.rounds_added)
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


@router.get("/plans", response_model=Page[PlanOut])
async def list_plans(
    ctx: Context, _: Reader,
    team_id: Annotated[StorableStr | None, Query(max_length=64, json_schema_extra={"pattern": NO_NUL})] = None,
    route_id: Annotated[StorableStr | None, Query(max_length=100, json_schema_extra={"pattern": NO_NUL})] = None,
    limit: Limit = 200,
    after: After = None,
) -> Page[PlanOut]:
    async with ctx.runtime.connection() as conn:
        found = await plans.list_plans(conn, team_id=team_id, route_id=route_id, limit=limit, after=after)
    return page_of([plan_out(r) for r in found], limit, lambda p: p.id)


@router.get("/plans/{plan_id}", response_model=PlanOut, responses=error_responses(404))
async def get_plan(plan_id: StorableStr, ctx: Context, _: Reader) -> PlanOut:
    async with ctx.runtime.connection() as conn:
        return plan_out(await plans.get_plan(conn, plan_id))


class CancelledPlan(BaseModel):
    id: str
    cancelled_rounds: int


@router.delete("/plans/{plan_id}", response_model=CancelledPlan, responses=error_responses(404))
async def cancel_plan(plan_id: StorableStr, ctx: Context, _: Planner) -> CancelledPlan:
    """Cancel a plan: its rounds not yet started are cancelled (started ones are judged as they are)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        cancelled = await plans.cancel_plan(conn, ctx, plan_id, now=ctx.now())
    if cancelled is None:
        raise NotFound(f"没有巡逻计划 {plan_id} (no plan {plan_id})")
    return CancelledPlan(id=plan_id, cancelled_rounds=cancelled)
