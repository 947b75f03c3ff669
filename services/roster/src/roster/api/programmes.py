"""/v1/programmes, /v1/periods and their duties: what a rotation period is (organisers and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import After, Limit, Page, page_of
from roster import periods, programmes
from roster.api.deps import IdQuery, Organiser
from roster.context import Context
from roster.domain.members import Id
from roster.domain.periods import DutyIn, PeriodIn, ProgrammeIn

router = APIRouter(prefix="/v1", tags=["periods"])
PathId = Annotated[str, Path(max_length=64)]


@router.post("/programmes", status_code=201, response_model=None, responses={
    200: {"description": "The same programme was registered before."}, **error_responses(409)})
async def register_programme(programme: ProgrammeIn, ctx: Context, _: Organiser) -> JSONResponse:
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome = await programmes.register(conn, programme, ctx.now())
    return JSONResponse(status_code=201 if outcome is programmes.Outcome.CREATED else 200,
                        content=programme.model_dump(mode="json"))


@router.get("/programmes")
async def list_programmes(ctx: Context, _: Organiser, limit: Limit = 100,
                          after: After = None) -> Page[dict[str, Any]]:
    items = await programmes.list_programmes(ctx, after=after, limit=limit)
    return page_of(items, limit, lambda programme: programme["programme_id"])


@router.post("/programmes/{programme_id}/periods", status_code=201, response_model=None, responses={
    200: {"description": "The same period was created before."}, **error_responses(409)})
async def create_period(programme_id: PathId, period: PeriodIn, ctx: Context, _: Organiser) -> JSONResponse:
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome = await periods.create_period(conn, programme_id, period, ctx.now())
    return JSONResponse(status_code=201 if outcome is periods.Outcome.CREATED else 200,
                        content=period.model_dump(mode="json") | {"ends_on": period.ends_on.isoformat()})


@router.get("/periods")
async def list_periods(ctx: Context, _: Organiser, limit: Limit = 100, after: After = None,
                       programme_id: IdQuery = None) -> Page[dict[str, Any]]:
    items = await periods.list_periods(ctx, programme_id=programme_id, after=after, limit=limit)
    return page_of(items, limit, lambda period: period["period_id"])


@router.get("/periods/{period_id}")
async def get_period(period_id: PathId, ctx: Context, _: Organiser) -> dict[str, Any]:
    return await periods.get_period(ctx, period_id)


class CohortIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_ids: list[Id] = Field(max_length=2000)


@router.put("/periods/{period_id}/cohort", responses=error_responses(409))
async def replace_cohort(period_id: PathId, body: CohortIn, ctx: Context, _: Organiser) -> dict[str, Any]:
    """The period's cohort (期学员), replaced whole; the next solve rosters exactly these members."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        await periods.replace_cohort(conn, period_id, body.member_ids)
    return {"period_id": period_id, "cohort": sorted(set(body.member_ids))}


@router.post("/periods/{period_id}/duties", status_code=201, response_model=None, responses={
    200: {"description": "The same duty was added before."}, **error_responses(409)})
async def add_duty(period_id: PathId, duty: DutyIn, ctx: Context, _: Organiser) -> JSONResponse:
    """A duty on the period's days (day training, a night patrol on a route, a checkpoint…): its shifts are
    created at once, one per day it runs, and rostered by the next solve. Its id is the period's own (the next
    period may have a `night` too). ``area`` is a place of the directory and ``team_id`` a team (a code or a unique
    name; 422 naming the field otherwise), kept and answered as codes with their names."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        added = await periods.add_duty(conn, period_id, duty, ctx.zone, ctx.now())
        answer = await periods.duty_answer(conn, added.duty)
    return JSONResponse(status_code=201 if added.outcome is periods.Outcome.CREATED else 200,
                        content=answer | {"shifts": added.shifts})
