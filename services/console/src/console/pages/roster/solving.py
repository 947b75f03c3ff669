"""A solve as it runs, and the roster it makes.

* The job's page shows a progress panel that asks for itself again every second (htmx ``every 1s`` on a fragment
  swapped whole) while roster says the job is queued or running; the panel it gets once the job has ended carries
  no trigger, so the polling stops by itself. It shows what roster reports: state, the best objective and bound so
  far, elapsed time; at the end the draft, or — infeasible — roster's explanation in words and the rules that
  cannot hold together, or the reason it failed.
* A draft, and a period's published roster, as a people × days grid (``grid.py``) with each person's load and the
  service's count of their nights this year; publishing the draft is one POST.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.roster.common import JOB_STATES, SERVICE, WEEKDAYS, Organiser, RosterId, every, seg
from console.pages.roster.grid import build_grid
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import Person, render

router = APIRouter(include_in_schema=False)

messages({
    "roster.job.title": ("求解任务", "Solve job"),
    "roster.job.state": ("状态", "State"),
    "roster.job.objective": ("当前目标值", "Objective so far"),
    "roster.job.bound": ("下界", "Bound"),
    "roster.job.elapsed": ("已用时间（秒）", "Elapsed (s)"),
    "roster.job.phase": ("阶段", "Phase"),
    "roster.job.phase.searching": ("正在寻找第一份班表", "looking for a first roster"),
    "roster.job.phase.improving": ("已有班表，正在改进", "a roster found, improving it"),
    "roster.job.phase.done": ("已结束", "finished"),
    "roster.job.first_roster": ("得到第一份班表用时（秒）", "First roster after (s)"),
    "roster.job.limit": ("时限（秒）", "Time limit (s)"),
    "roster.job.solver_status": ("求解结论", "Solver's verdict"),
    "roster.job.penalties": ("各项软规则代价", "Cost per soft rule"),
    "roster.job.see_draft": ("查看排班草稿", "See the draft roster"),
    "roster.job.infeasible": ("无法排出满足所有规则的班表", "No roster can keep every rule"),
    "roster.job.conflicts": ("相互冲突的规则", "The rules that cannot hold together"),
    "roster.job.failed": ("求解失败", "The solve failed"),
    "roster.job.back": ("返回期次", "Back to the period"),
    "roster.job.waiting": ("正在求解，页面每秒更新……", "Solving; this panel updates every second…"),
    "roster.penalty.Cover": ("人数覆盖", "cover"),
    "roster.penalty.Request": ("个人意愿", "wishes"),
    "roster.penalty.Fairness": ("公平", "fairness"),
    "roster.penalty.Stability": ("稳定（改动）", "stability (changes)"),
    "roster.draft.title": ("排班草稿", "Draft roster"),
    "roster.draft.publish": ("发布排班", "Publish the roster"),
    "roster.draft.publish_confirm": ("确定发布此排班吗？队员将收到班次。", "Publish this roster? Members get their "
                                     "shifts."),
    "roster.draft.published_as": ("已发布为版本", "Published as version"),
    "roster.draft.published": ("排班已发布。", "Roster published."),
    "roster.grid.title": ("排班表", "Roster"),
    "roster.grid.member": ("队员", "Member"),
    "roster.grid.day": ("日期", "Day"),
    "roster.grid.shifts": ("班次", "Shifts"),
    "roster.grid.nights": ("夜班", "Nights"),
    "roster.grid.weekends": ("周末", "Weekends"),
    "roster.grid.year_nights": ("今年已发布夜班", "Published nights this year"),
    "roster.grid.total": ("合计（当日在岗人数）", "Total (people on duty)"),
    "roster.grid.spread": ("最多与最少相差", "Most minus least"),
    "roster.grid.not_cohort": ("非本期学员", "not in the cohort"),
    "roster.grid.empty": ("本期尚无班次。", "The period has no shifts yet."),
    "roster.grid.swaps": ("调班申请", "Swap requests"),
})

RUNNING = frozenset({"queued", "running"})


async def _job(person: Person, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = await person.services.get(SERVICE, f"/v1/solve-jobs/{seg(job_id)}")
    return job


def _panel_context(job: Mapping[str, Any]) -> dict[str, Any]:
    return {"job": job, "running": job["status"] in RUNNING, "state_label": JOB_STATES.get(job["status"]),
            "progress": job.get("progress") or {}, "result": job.get("result") or {}}


@router.get("/roster/jobs/{job_id}")
async def job_page(request: Request, person: Organiser, job_id: RosterId) -> Response:
    return render(request, "roster/job.html", person, **_panel_context(await _job(person, job_id)))


@router.get("/roster/jobs/{job_id}/panel")
async def job_panel(request: Request, person: Organiser, job_id: RosterId) -> Response:
    """The panel alone, for htmx to swap in place of the last one."""
    return render(request, "roster/_job_panel.html", person, **_panel_context(await _job(person, job_id)))


async def _load(person: Person, period_id: str) -> tuple[dict[str, str], dict[str, int]]:
    """Names and this year's published nights of the period's people, as roster's attendance report counts them."""
    rows = await every(person, "/v1/reports/attendance", {"period_id": period_id, "group_by": "member"})
    return ({r["member_id"]: r.get("name") or r["member_id"] for r in rows},
            {r["member_id"]: int(r.get("year_nights") or 0) for r in rows})


async def _grid_page(request: Request, person: Person, period: dict[str, Any], shifts: list[dict[str, Any]],
                     crews: Mapping[str, list[str]], *, status_code: int = 200, **context: Any) -> Response:
    names, year_nights = await _load(person, period["period_id"])
    grid = build_grid(period, shifts, crews, names, year_nights)
    return render(request, "roster/grid.html", person, status_code=status_code, period=period, grid=grid,
                  weekdays=WEEKDAYS, **context)


async def _draft_page(request: Request, person: Person, draft_id: str, *, form: Form | None = None,
                      status_code: int = 200) -> Response:
    draft = await person.services.get(SERVICE, f"/v1/drafts/{seg(draft_id)}")
    period = await person.services.get(SERVICE, f"/v1/periods/{seg(draft['period_id'])}")
    shifts = await every(person, "/v1/shifts", {"period_id": draft["period_id"], "include_unpublished": "true"},
                         limit=20000)
    job = await _job(person, draft["job_id"])
    return await _grid_page(request, person, period, shifts, draft["assignments"], status_code=status_code,
                            draft=draft, result=job.get("result") or {}, form=form or Form(fields=("publish",)),
                            notice=None)


@router.get("/roster/drafts/{draft_id}")
async def draft_page(request: Request, person: Organiser, draft_id: RosterId) -> Response:
    return await _draft_page(request, person, draft_id)


@router.post("/roster/drafts/{draft_id}/publish")
async def publish(request: Request, person: Organiser, draft_id: RosterId) -> Response:
    try:
        done = await person.services.post(SERVICE, f"/v1/drafts/{seg(draft_id)}/publish")
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _draft_page(request, person, draft_id, form=Form(fields=("publish",)).refused(refusal),
                                 status_code=refusal.status)
    return RedirectResponse(f"/roster/periods/{seg(done['period_id'])}/roster?done=published", status_code=303)


@router.get("/roster/periods/{period_id}/roster")
async def published_roster(request: Request, person: Organiser, period_id: RosterId) -> Response:
    period = await person.services.get(SERVICE, f"/v1/periods/{seg(period_id)}")
    shifts = await every(person, "/v1/shifts", {"period_id": period_id}, limit=20000)
    crews = {s["shift_id"]: list(s.get("member_ids") or []) for s in shifts}
    notice = "roster.draft.published" if request.query_params.get("done") == "published" else None
    return await _grid_page(request, person, period, shifts, crews, draft=None, result={}, form=None,
                            notice=notice)
