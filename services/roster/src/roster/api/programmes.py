"""/v1/programmes, /v1/periods and their duties: what a rotation period is (organisers and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from roster import periods, programmes
from roster.api.deps import After, IdQuery, Limit, Organiser
from roster.context import Context
from roster.domain.members import Id
from roster.domain.periods import DutyIn, PeriodIn, ProgrammeIn
from roster.store import periods as store

router = APIRouter(prefix="/v1", tags=["periods"])
PathId = Annotated[str, Path(max_length=64)]


@router.post("/programmes", status_code=201, response_model=None, responses={
    200: {"description": "The same programme was registered before."}, **error_responses(409)})
async def register_programme(programme: ProgrammeIn, ctx: Context, _: Organiser) -> JSONResponse:
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome = await programmes.register(conn, programme, ctx.now())
    if outcome is programmes.Outcome.CONFLICT:
        raise ApiError(409, "该编号已用于内容不同的轮训项目 (a different programme has this id)",
                       field="body.programme_id")
    return JSONResponse(status_code=201 if outcome is programmes.Outcome.CREATED else 200,
                        content=programme.model_dump(mode="json"))


@router.get("/programmes")
async def list_programmes(ctx: Context, _: Organiser, limit: Limit = 100, after: After = None) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        items = [dict(r) for r in await store.list_programmes(conn, after=after, limit=limit)]
    return {"programmes": items, "next_after": items[-1]["programme_id"] if len(items) == limit else None}


def _period_json(row: Any, cohort: list[str] | None = None) -> dict[str, Any]:
    out = dict(row)
    if cohort is not None:
        out["cohort"] = cohort
    return out


@router.post("/programmes/{programme_id}/periods", status_code=201, response_model=None, responses={
    200: {"description": "The same period was created before."}, **error_responses(409)})
async def create_period(programme_id: PathId, period: PeriodIn, ctx: Context, _: Organiser) -> JSONResponse:
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome, unknown = await periods.create_period(conn, programme_id, period, ctx.now())
    if outcome is periods.Outcome.UNKNOWN_PROGRAMME:
        raise ApiError(404, "没有该轮训项目 (no such programme)")
    if outcome is periods.Outcome.UNKNOWN_MEMBERS:
        raise ApiError(409, f"名单中有未登记的队员：{'、'.join(unknown[:20])} (unknown members)", field="body.cohort")
    if outcome is periods.Outcome.CONFLICT:
        raise ApiError(409, "该编号已用于内容不同的一期 (a different period has this id)", field="body.period_id")
    return JSONResponse(status_code=201 if outcome is periods.Outcome.CREATED else 200,
                        content=period.model_dump(mode="json") | {"ends_on": period.ends_on.isoformat()})


@router.get("/periods")
async def list_periods(ctx: Context, _: Organiser, limit: Limit = 100, after: After = None,
                       programme_id: IdQuery = None) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        items = [_period_json(r) for r in await store.list_periods(conn, programme_id=programme_id, after=after,
                                                                     limit=limit)]
    return {"periods": items, "next_after": items[-1]["period_id"] if len(items) == limit else None}


@router.get("/periods/{period_id}")
async def get_period(period_id: PathId, ctx: Context, _: Organiser) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get_period(conn, period_id)
        if row is None:
            raise ApiError(404, "没有该期 (no such period)")
        out = _period_json(row, await store.cohort(conn, period_id))
        out["duties"] = [periods.duty_in(d).model_dump(mode="json") for d in await store.duties(conn, period_id)]
    return out


class CohortIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_ids: list[Id] = Field(max_length=2000)


@router.put("/periods/{period_id}/cohort", responses=error_responses(409))
async def replace_cohort(period_id: PathId, body: CohortIn, ctx: Context, _: Organiser) -> dict[str, Any]:
    """The period's cohort (期学员), replaced whole; the next solve rosters exactly these members."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome, unknown = await periods.replace_cohort(conn, period_id, body.member_ids)
    if outcome is periods.Outcome.NOT_FOUND:
        raise ApiError(404, "没有该期 (no such period)")
    if outcome is periods.Outcome.UNKNOWN_MEMBERS:
        raise ApiError(409, f"名单中有未登记的队员：{'、'.join(unknown[:20])} (unknown members)",
                       field="body.member_ids")
    return {"period_id": period_id, "cohort": sorted(set(body.member_ids))}


@router.post("/periods/{period_id}/duties", status_code=201, response_model=None, responses={
    200: {"description": "The same duty was added before."}, **error_responses(409)})
async def add_duty(period_id: PathId, duty: DutyIn, ctx: Context, _: Organiser) -> JSONResponse:
    """A duty on the period's days (day training, a night patrol on a route, a checkpoint…): its shifts are
    created at once, one per day it runs, and rostered by the next solve."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome, shifts = await periods.add_duty(conn, period_id, duty, ctx.zone, ctx.now())
    if outcome is periods.Outcome.NOT_FOUND:
        raise ApiError(404, "没有该期 (no such period)")
    if outcome is periods.Outcome.NO_SHIFTS:
        raise ApiError(409, "该勤务在本期没有任何一天 (the duty runs on none of the period's days)",
                       field="body.weekdays")
    if outcome is periods.Outcome.CONFLICT:
        raise ApiError(409, "该编号已用于内容不同的勤务 (a different duty has this id)", field="body.duty_id")
    return JSONResponse(status_code=201 if outcome is periods.Outcome.CREATED else 200,
                        content=duty.model_dump(mode="json") | {"shifts": shifts})
