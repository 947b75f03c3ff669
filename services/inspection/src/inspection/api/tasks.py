"""/v1/tasks: rectification tasks (整改任务): read them, rectify, revisit, list under supervision, assign from triage.

Who reads which task, and what a unit sees of its timeline, is ``inspection.tasks``'s (``inspection.reach``); the
steps and their rules are ``inspection.rectification``'s and ``inspection.domain.tasks``'s.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from inspection import rectification, tasks
from inspection.api.docs import SCOPED_LISTING_RESPONSES, TASK_STEP_RESPONSES
from inspection.context import Context, InspectionContext
from inspection.domain.calendar import PlannableDate
from inspection.domain.tasks import TaskStatus
from inspection.rectification import Actor, Step
from pingan_shared.auth import Principal, Role
from pingan_shared.http.app import request_correlation_id
from pingan_shared.http.paging import After, Limit, Page
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import NOT_BLANK, free_text, non_blank, strict_int
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["tasks"])

_READERS = require_roles(Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN)
_STAFF = require_roles(Role.INSPECTOR, Role.ADMIN)
Reader = Annotated[Principal, Depends(_READERS)]
Staff = Annotated[Principal, Depends(_STAFF)]
Unit = Annotated[Principal, Depends(require_roles(Role.UNIT))]
TaskId = Annotated[StorableStr, Path(max_length=200)]

Text: TypeAlias = free_text(4000)  # type: ignore[valid-type]
Note: TypeAlias = free_text(1000)  # type: ignore[valid-type]
Evidence: TypeAlias = non_blank(500)  # type: ignore[valid-type]
ListingDays: TypeAlias = strict_int(0, 366)  # type: ignore[valid-type]
UnitRef: TypeAlias = non_blank(64)  # type: ignore[valid-type]


class RectificationIn(BaseModel):
    # The schema states what the task's rules require (checked once the task is found): some text, some evidence.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"required": ["text", "evidence"]})

    text: Text = Field(default="", description="what was rectified; required", json_schema_extra={"pattern": NOT_BLANK})
    evidence: list[Evidence] = Field(
        default_factory=list, max_length=50, description="references to photos, videos or documents; required",
        json_schema_extra={"minItems": 1})


class RevisitIn(BaseModel):
    # A rejection says what remains (the task's rule, checked once the task is found).
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra={"anyOf": [
        {"properties": {"outcome": {"const": "verified"}}},
        {"required": ["remaining"], "properties": {"remaining": {"type": "string", "pattern": NOT_BLANK}}},
    ]})

    outcome: Literal["verified", "rejected"]
    remaining: Text = Field(default="", description="what remains (required if rejected)")
    evidence: list[Evidence] = Field(default_factory=list, max_length=50, description=(
        "the inspector's own references to photos, videos or documents of the revisit"))


class ListingIn(BaseModel):
    # A deadline or a number of days, not both (``rectification.list_task`` refuses anything else).
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra={"anyOf": [
        {"required": ["deadline"], "properties": {"deadline": {"type": "string"}, "days": {"type": "null"}}},
        {"required": ["days"], "properties": {"days": {"type": "integer"}, "deadline": {"type": "null"}}},
    ]})

    deadline: PlannableDate | None = Field(default=None, description="the task is due at the end of this local day")
    days: ListingDays | None = Field(default=None, description=(
        "or: due this many days (on the task's basis: calendar or working days) after today"))
    note: Note = Field(default="", description="e.g. 挂牌督办 reason")


class AssignmentIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    unit_id: UnitRef


def task_json(view: tasks.TaskView) -> dict[str, Any]:
    """A task as every reader sees it (no recorder fields: a unit must not learn who inspected it)."""
    row = view.task
    return jsonable_encoder({
        "id": row["id"], "unit_id": row["unit_id"], "origin": row["origin"], "cycle_id": row["cycle_id"],
        "notice_id": row["notice_id"], "notice_number": row["notice_number"], "category": row["category"],
        "severity": row["severity"], "hazard_key": row["hazard_key"], "place": row["place"],
        "latitude": row["latitude"], "longitude": row["longitude"], "description": row["description"],
        "evidence": row["evidence"], "status": row["status"], "day_basis": row["day_basis"],
        "deadline": row["deadline"], "listed": row["listed"], "listed_note": row["listed_note"],
        "opened_at": row["opened_at"], "submitted_at": row["submitted_at"], "verified_at": row["verified_at"],
        "overdue_at": row["overdue_at"], "rejections": row["rejections"], "accountability": view.accountability,
        "alert_status": view.alert_status, "deadline_provisional": view.deadline_provisional,
    })


@router.get("/tasks", responses=SCOPED_LISTING_RESPONSES)
async def list_tasks(
    ctx: Context, principal: Reader,
    status: TaskStatus | None = None,
    cycle_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    unit_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[dict[str, Any]]:
    """Tasks in id order, ``limit`` at a time after ``after``; a unit gets only its own (another unit's id as
    a filter gives an empty page), a scoped supervisor those of its scope (another unit's id as a filter: 403)."""
    page = await tasks.list_tasks(ctx, principal, status=status, cycle_id=cycle_id, unit_id=unit_id, overdue=overdue,
                                  limit=limit, after=after)
    return Page(items=[task_json(v) for v in page.items], next_after=page.next_after)


@router.get("/tasks/{task_id}")
async def get_task(task_id: TaskId, ctx: Context, principal: Reader) -> dict[str, Any]:
    return task_json(await tasks.get_task(ctx, principal, task_id))


@router.get("/tasks/{task_id}/timeline")
async def task_timeline(task_id: TaskId, ctx: Context, principal: Reader) -> list[dict[str, Any]]:
    """全程留痕: who did what when, from the finding's recording to the task's closure."""
    return await tasks.timeline_of(ctx, principal, task_id)


def _step(ctx: InspectionContext, principal: Principal, request: Request) -> Step:
    return Step(actor=Actor(principal.role.value, principal.subject), now=ctx.now(), events=ctx.events,
                zone=ctx.zone, correlation_id=request_correlation_id(request))


async def _change_and_show(ctx: InspectionContext, task_id: str, status_code: int, change: Any) -> JSONResponse:
    """Run ``change(conn)`` in one transaction, then answer with the task as it now stands."""
    return JSONResponse(status_code=status_code, content=task_json(await tasks.after_step(ctx, task_id, change)))


@router.post("/tasks/{task_id}/rectifications", status_code=201, responses=TASK_STEP_RESPONSES)
async def submit_rectification(task_id: TaskId, body: RectificationIn, ctx: Context, principal: Unit,
                               request: Request) -> JSONResponse:
    """The unit's rectification, with evidence (required); the task then waits for its revisit."""
    unit_id = principal.unit_id
    assert unit_id is not None  # a unit token always names its unit (pingan_shared.auth)
    step = _step(ctx, principal, request)
    return await _change_and_show(ctx, task_id, 201, lambda conn: rectification.submit(
        conn, task_id, unit_id=unit_id, text=body.text, evidence=list(body.evidence), step=step))


@router.post("/tasks/{task_id}/revisits", status_code=201, responses=TASK_STEP_RESPONSES)
async def record_revisit(task_id: TaskId, body: RevisitIn, ctx: Context, principal: Staff,
                         request: Request) -> JSONResponse:
    """回访: verified closes the task (and resolves its overdue alert); rejected returns it to the unit with
    what remains, its deadline unchanged."""
    step = _step(ctx, principal, request)
    return await _change_and_show(ctx, task_id, 201, lambda conn: rectification.revisit(
        conn, task_id, outcome=body.outcome, remaining=body.remaining, evidence=list(body.evidence), step=step))


@router.put("/tasks/{task_id}/listing", responses=TASK_STEP_RESPONSES)
async def list_under_supervision(task_id: TaskId, body: ListingIn, ctx: Context, principal: Staff,
                                 request: Request) -> JSONResponse:
    """挂牌督办: the task gets its own deadline (a date, or a number of days on the task's basis)."""
    step = _step(ctx, principal, request)
    return await _change_and_show(ctx, task_id, 200, lambda conn: rectification.list_task(
        conn, task_id, deadline=body.deadline, days=body.days, note=body.note, step=step))


@router.post("/tasks/{task_id}/assignment", responses=TASK_STEP_RESPONSES)
async def assign_task(task_id: TaskId, body: AssignmentIn, ctx: Context, principal: Staff,
                      request: Request) -> JSONResponse:
    """分流交办: a triage task (a patrol hazard without a known unit) goes to a unit."""
    step = _step(ctx, principal, request)
    return await _change_and_show(ctx, task_id, 200, lambda conn: rectification.assign(
        conn, task_id, unit_id=body.unit_id, step=step))
