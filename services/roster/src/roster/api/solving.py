"""/v1/periods/{id}/solve, /v1/solve-jobs, /v1/drafts: solving a period (a durable job) and publishing its draft."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from roster import publishing, solving
from roster.api.deps import Organiser
from roster.context import Context
from roster.store import jobs as store

router = APIRouter(prefix="/v1", tags=["solving"])
PathId = Annotated[str, Path(max_length=64)]


class SolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_limit_s: float | None = Field(default=None, gt=0, le=86400,
                                       description="capped at ROSTER_SOLVE_MAX_TIME_LIMIT_S; default "
                                                   "ROSTER_SOLVE_DEFAULT_TIME_LIMIT_S")
    replan: bool | None = Field(default=None, description="few changes against the published roster; default: "
                                                          "true once the period was published")


def job_json(row: Any) -> dict[str, Any]:
    out = dict(row)
    if out["status"] == "infeasible":
        # the answer an organiser needs, shaped like a 422: what cannot hold together, and for whom
        explanation = (out["result"] or {}).get("explanation") or {}
        out["outcome"] = {"status": 422, "detail": explanation.get("summary", "无可行排班"),
                          "conflicts": explanation.get("conflicts", [])}
    return out


@router.post("/periods/{period_id}/solve", status_code=202, responses=error_responses(409))
async def solve_period(period_id: PathId, ctx: Context, who: Organiser, body: SolveIn | None = None) -> dict[str, Any]:
    """Queue a solve of the period; poll GET /v1/solve-jobs/{job_id} for progress and the draft."""
    body = body or SolveIn()
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            job_id = await solving.request_solve(conn, ctx, period_id, time_limit_s=body.time_limit_s,
                                                 replan=body.replan, requested_by=who.subject)
            row = await store.get_job(conn, job_id)
    except solving.PeriodNotFound as exc:
        raise ApiError(404, "没有该期 (no such period)") from exc
    except solving.JobBusy as exc:
        raise ApiError(409, f"本期已有求解任务在进行：{exc.job_id} (a solve of this period is under way)",
                       field="period_id") from exc
    return job_json(row)


@router.get("/solve-jobs/{job_id}")
async def get_job(job_id: PathId, ctx: Context, _: Organiser) -> dict[str, Any]:
    """A job's status (queued, running, done, infeasible, failed), its progress (objective, bound, elapsed_s) and
    result: the draft id with the solver's objective and bound, or — infeasible — the conflicting rules and people
    (``outcome``, shaped like a 422 answer)."""
    async with ctx.runtime.connection() as conn:
        row = await store.get_job(conn, job_id)
    if row is None:
        raise ApiError(404, "没有该求解任务 (no such job)")
    return job_json(row)


@router.get("/drafts/{draft_id}")
async def get_draft(draft_id: PathId, ctx: Context, _: Organiser) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get_draft(conn, draft_id)
        if row is None:
            raise ApiError(404, "没有该排班草案 (no such draft)")
        assignments = await store.draft_assignments(conn, draft_id)
    return dict(row) | {"assignments": assignments}


@router.post("/drafts/{draft_id}/publish", response_model=None, responses={
    201: {"description": "Published as a new roster version."}, **error_responses(409)})
async def publish_draft(draft_id: PathId, ctx: Context, _: Organiser) -> JSONResponse:
    """Publish the draft as the period's next roster version (events per shift). Publishing it again answers 200
    with the version it became, and emits nothing."""
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            done = await publishing.publish(conn, ctx, draft_id)
    except publishing.DraftNotFound as exc:
        raise ApiError(404, "没有该排班草案 (no such draft)") from exc
    except publishing.DraftStale as exc:
        raise ApiError(409, "草案生成后排班已有变动（发布、调班或调整），请重新求解 "
                       "(the roster changed since this draft was made: solve again)", field="draft_id") from exc
    body = {"period_id": done.period_id, "roster_version": done.version, "assigned": done.assigned,
            "changed": done.changed, "cancelled": done.cancelled, "unchanged": done.unchanged,
            "repeated": done.repeated}
    return JSONResponse(status_code=200 if done.repeated else 201, content=body)
