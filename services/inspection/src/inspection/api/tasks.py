"""Rectification tasks (整改任务): read them, rectify, revisit, list under supervision, assign from triage.

Visibility (``inspection.reach``): a unit reads only the tasks standing against it, a supervisor with a scope only
those of the units its scope covers, and any other task answers exactly as a task that does not exist (the same
404 "任务不存在"); inspectors, admins and supervisors without a scope read all. Tasks exist
only from the release on, so nothing here can reveal a sealed finding. A unit never learns who recorded the
finding: the task has no recorder fields and the timeline shows it only the actor's role.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from inspection import reach, rectification, timeline
from inspection.api.docs import SCOPED_LISTING_RESPONSES, TASK_STEP_RESPONSES
from inspection.context import Context, InspectionContext
from inspection.domain.calendar import PlannableDate
from inspection.domain.schema import NOT_BLANK, json_integer
from inspection.domain.tasks import TaskRuleBroken, TaskStatus
from inspection.rectification import Actor, Step, TaskNotFound, number_of
from inspection.store import alerts as alert_store
from inspection.store import tasks as store
from pingan_shared.auth import Principal, Role
from pingan_shared.http.app import request_correlation_id
from pingan_shared.http.errors import ApiError
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["tasks"])

NOT_FOUND = "任务不存在"
_READERS = require_roles(Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN)
_STAFF = require_roles(Role.INSPECTOR, Role.ADMIN)
Reader = Annotated[Principal, Depends(_READERS)]
Staff = Annotated[Principal, Depends(_STAFF)]
Unit = Annotated[Principal, Depends(require_roles(Role.UNIT))]
TaskId = Annotated[StorableStr, Path(max_length=200)]


class RectificationIn(BaseModel):
    # The schema states what the task's rules require (checked once the task is found): some text, some evidence.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"required": ["text", "evidence"]})

    text: StorableStr = Field(default="", max_length=4000, description="what was rectified; required",
                              json_schema_extra=NOT_BLANK)
    evidence: list[Annotated[StorableStr, Field(min_length=1, max_length=500, json_schema_extra=NOT_BLANK)]] = Field(
        default_factory=list, max_length=50, description="references to photos, videos or documents; required",
        json_schema_extra={"minItems": 1})


class RevisitIn(BaseModel):
    # A rejection says what remains (the task's rule, checked once the task is found).
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra={"anyOf": [
        {"properties": {"outcome": {"const": "verified"}}},
        {"required": ["remaining"], "properties": {"remaining": {"type": "string", **NOT_BLANK}}},
    ]})

    outcome: Literal["verified", "rejected"]
    remaining: StorableStr = Field(default="", max_length=4000, description="what remains (required if rejected)")


class ListingIn(BaseModel):
    # A deadline or a number of days, not both (the route refuses anything else).
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra={"anyOf": [
        {"required": ["deadline"], "properties": {"deadline": {"type": "string"}, "days": {"type": "null"}}},
        {"required": ["days"], "properties": {"days": {"type": "integer"}, "deadline": {"type": "null"}}},
    ]})

    deadline: PlannableDate | None = Field(default=None, description="the task is due at the end of this local day")
    days: int | None = Field(default=None, ge=0, le=366, description=(
        "or: due this many days (on the task's basis: calendar or working days) after today"))
    note: StorableStr = Field(default="", max_length=1000, description="e.g. 挂牌督办 reason")

    @field_validator("days", mode="before")
    @classmethod
    def _integer(cls, value: Any) -> Any:
        return json_integer(value)


class AssignmentIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    unit_id: StorableStr = Field(min_length=1, max_length=64, json_schema_extra=NOT_BLANK)


# Chinese first, the rule's own words after.
_REASONS = {"evidence": "需提交整改佐证材料", "text": "请说明整改情况", "remaining": "请说明仍需整改的问题",
            "deadline": "期限须晚于当前时间", "days": "期限须晚于当前时间", "status": "任务当前状态不允许此操作"}


def _refused(exc: TaskRuleBroken) -> ApiError:
    chinese = _REASONS.get(exc.field, "")
    detail = f"{chinese}（{exc.reason}）" if chinese and not exc.reason.startswith(chinese) else exc.reason
    return ApiError(409 if exc.conflict else 422, detail, field=exc.field)


def task_view(row: asyncpg.Record, accountability: list[dict[str, Any]], alert_status: str | None) -> dict[str, Any]:
    """A task as every reader sees it (no recorder fields: a unit must not learn who inspected it)."""
    return {
        "id": row["id"], "unit_id": row["unit_id"], "origin": row["origin"], "cycle_id": row["cycle_id"],
        "notice_id": row["notice_id"], "notice_number": number_of(row), "category": row["category"],
        "severity": row["severity"], "hazard_key": row["hazard_key"], "place": row["place"],
        "latitude": row["latitude"], "longitude": row["longitude"], "description": row["description"],
        "evidence": row["evidence"], "status": row["status"], "day_basis": row["day_basis"],
        "deadline": row["deadline"], "listed": row["listed"], "listed_note": row["listed_note"],
        "opened_at": row["opened_at"], "submitted_at": row["submitted_at"], "verified_at": row["verified_at"],
        "overdue_at": row["overdue_at"], "rejections": row["rejections"], "accountability": accountability,
        "alert_status": alert_status,
    }


async def task_views(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    ids = [r["id"] for r in rows]
    records = await alert_store.accountability_of(conn, ids)
    statuses = await alert_store.alert_status_of(conn, ids)
    return [task_view(r, records[r["id"]], statuses[r["id"]]) for r in rows]


async def _visible(conn: asyncpg.Connection, task_id: str, principal: Principal) -> asyncpg.Record:
    row = await store.task_row(conn, task_id, units=(await reach.reach_of(conn, principal)).sql)
    if row is None:
        raise ApiError(404, NOT_FOUND, field="task_id")
    return row


@router.get("/tasks", responses=SCOPED_LISTING_RESPONSES)
async def list_tasks(
    ctx: Context, principal: Reader,
    status: TaskStatus | None = None,
    cycle_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    unit_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[StorableStr | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Tasks in id order, ``limit`` at a time after ``after``; a unit gets only its own (another unit's id as
    a filter gives an empty page), a scoped supervisor those of its scope (another unit's id as a filter: 403)."""
    async with ctx.runtime.connection() as conn:
        units = reach.listing(await reach.reach_of(conn, principal), principal, unit_id)
        rows = await store.task_rows(conn, units=units, status=status.value if status else None,
                                     cycle_id=cycle_id, overdue=overdue, limit=limit, after=after)
        items = await task_views(conn, rows)
    return {"items": items, "next_after": rows[-1]["id"] if len(rows) == limit else None}


@router.get("/tasks/{task_id}")
async def get_task(task_id: TaskId, ctx: Context, principal: Reader) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await _visible(conn, task_id, principal)
        return (await task_views(conn, [row]))[0]


def _shown_actor(actor: str) -> str:
    """What a unit sees of who acted: the role only (the covert inspector stays anonymous)."""
    role, sep, _ = actor.partition(":")
    if sep:
        return role
    return actor if actor in ("system", "alerts") else "inspector"


_IDENTIFYING = frozenset({"recorded_by", "recorder", "inspector", "by", "actor", "subject", "finding_id",
                          "finding_ids", "member_id", "team_id"})


@router.get("/tasks/{task_id}/timeline")
async def task_timeline(task_id: TaskId, ctx: Context, principal: Reader) -> list[dict[str, Any]]:
    """全程留痕: who did what when, from the finding's recording to the task's closure."""
    async with ctx.runtime.connection() as conn:
        await _visible(conn, task_id, principal)
        entries = await timeline.read(conn, task_id)
    if principal.role is Role.UNIT:
        entries = [{**e, "actor": _shown_actor(e["actor"]),
                    "detail": {k: v for k, v in (e["detail"] or {}).items() if k not in _IDENTIFYING}}
                   for e in entries]
    return entries


def _step(ctx: InspectionContext, principal: Principal, request: Request) -> Step:
    return Step(actor=Actor(principal.role.value, principal.subject), now=ctx.now(), events=ctx.events,
                zone=ctx.zone, correlation_id=request_correlation_id(request))


async def _change_and_show(ctx: InspectionContext, task_id: str, status_code: int, change: Any) -> JSONResponse:
    """Run ``change(conn)`` in one transaction, then answer with the task as it now stands."""
    async with ctx.runtime.connection() as conn:
        try:
            async with conn.transaction():
                await change(conn)
        except TaskNotFound:
            raise ApiError(404, NOT_FOUND, field="task_id") from None
        except TaskRuleBroken as exc:
            raise _refused(exc) from None
        row = await store.task_row(conn, task_id)
        assert row is not None
        view = (await task_views(conn, [row]))[0]
    return JSONResponse(status_code=status_code, content=jsonable_encoder(view))


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
        conn, task_id, outcome=body.outcome, remaining=body.remaining, step=step))


@router.put("/tasks/{task_id}/listing", responses=TASK_STEP_RESPONSES)
async def list_under_supervision(task_id: TaskId, body: ListingIn, ctx: Context, principal: Staff,
                                 request: Request) -> JSONResponse:
    """挂牌督办: the task gets its own deadline (a date, or a number of days on the task's basis)."""
    if (body.deadline is None) == (body.days is None):
        raise ApiError(422, "请给出期限日期或天数之一（give deadline or days, not both）", field="deadline")
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
