"""/v1/periods/{id}/solve, /v1/solve-jobs, /v1/drafts: solving a period (a durable job) and publishing its draft."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pingan_shared.http.openapi import error_responses
from pingan_shared.inputs import JsonBool
from roster import publishing, solving
from roster.api.deps import Organiser
from roster.context import Context

router = APIRouter(prefix="/v1", tags=["solving"])
PathId = Annotated[str, Path(max_length=64)]


class SolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_limit_s: float | None = Field(default=None, gt=0, le=86400,
                                       description="capped at ROSTER_SOLVE_MAX_TIME_LIMIT_S; default "
                                                   "ROSTER_SOLVE_DEFAULT_TIME_LIMIT_S")
    replan: JsonBool | None = Field(default=None, description="few changes against the published roster; default: "
                                                          "true once the period was published")


@router.post("/periods/{period_id}/solve", status_code=202, responses=error_responses(409))
async def solve_period(period_id: PathId, ctx: Context, who: Organiser, body: SolveIn | None = None) -> dict[str, Any]:
    """Queue a solve of the period; poll GET /v1/solve-jobs/{job_id} for progress and the draft."""
    body = body or SolveIn()
    async with ctx.runtime.connection() as conn, conn.transaction():
        job_id = await solving.request_solve(conn, ctx, period_id, time_limit_s=body.time_limit_s,
                                             replan=body.replan, requested_by=who.subject)
        return await solving.read_job(conn, job_id)


@router.get("/solve-jobs/{job_id}")
async def get_job(job_id: PathId, ctx: Context, _: Organiser) -> dict[str, Any]:
    """A job's status (queued, running, done, infeasible, failed), its progress (phase: searching / improving /
    done, objective, bound, elapsed_s, first_roster_s, solutions) and result: the draft id with the solver's
    objective and bound, or — infeasible — the conflicting rules and people (``outcome``, shaped like a 422
    answer)."""
    async with ctx.runtime.connection() as conn:
        return await solving.read_job(conn, job_id)


@router.get("/drafts/{draft_id}")
async def get_draft(draft_id: PathId, ctx: Context, _: Organiser) -> dict[str, Any]:
    return await solving.read_draft(ctx, draft_id)


@router.post("/drafts/{draft_id}/publish", response_model=None, responses={
    201: {"description": "Published as a new roster version."}, **error_responses(409)})
async def publish_draft(draft_id: PathId, ctx: Context, _: Organiser) -> JSONResponse:
    """Publish the draft as the period's next roster version (events per shift). Publishing it again answers 200
    with the version it became, and emits nothing."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        done = await publishing.publish(conn, ctx, draft_id)
    body = {"period_id": done.period_id, "roster_version": done.version, "assigned": done.assigned,
            "changed": done.changed, "cancelled": done.cancelled, "unchanged": done.unchanged,
            "repeated": done.repeated}
    return JSONResponse(status_code=200 if done.repeated else 201, content=body)
