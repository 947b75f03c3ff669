"""/v1/operations on every service, admins only: what the service's own machinery gave up on, and handing it back.

* outbox rows the relay parked (the broker refused them for good: too large, an illegal topic), with the error,
  and a retry once the cause is fixed (``pingan_shared.outbox_parked``);
* durable timers that failed every attempt and fire no more, with their last error, and a retry that gives one
  its attempts back (``pingan_shared.timer_failures``).

The same as ``pingan outbox parked|retry`` and ``pingan timers failed|retry``, for an operator who has the console
rather than the service's database: the console shows these pages and never reads a service's tables. Parked rows
and failed timers name event types, keys and errors of every scope, so only the admin role reads them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from pingan_shared.auth import Principal, Role
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.outbox_parked import parked_rows, unpark
from pingan_shared.refused import NotFound
from pingan_shared.timer_failures import failed_timers_page, retry_failed

router = APIRouter(prefix="/v1/operations", tags=["operations"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
RowId = Annotated[int, Path(ge=1, le=2**62, description="the id the listing shows")]
IdAfter = Annotated[int | None, Query(ge=0, le=2**62, description="next_after of the previous page")]


class ParkedRowOut(BaseModel):
    id: int
    topic: str
    key: str
    sequence: int | None = Field(description="the row's per-key sequence, if its event type has one")
    event_id: str
    event_type: str
    size: int = Field(description="bytes of the encoded event")
    created_at: str
    parked_at: str
    error: str = Field(description="why the broker refused it")


class FailedTimerOut(BaseModel):
    id: int
    kind: str
    key: str
    due_at: str = Field(description="when its last attempt was due")
    attempts: int
    last_error: str | None
    payload: dict[str, Any]


class Retried(BaseModel):
    id: int
    status: str = Field(description='"pending": the relay (or the timer runner) takes it on its next round')


@router.get("/outbox/parked")
async def list_parked_rows(request: Request, _: Admin, limit: Limit = 100,
                           after: IdAfter = None) -> Page[ParkedRowOut]:
    """Outbox rows the broker refused for good, oldest first, each with its error. They hold up nothing (later
    rows are published) and wait here until retried."""
    async with request.app.state.runtime.connection() as conn:
        rows = await parked_rows(conn, limit=limit, after=after)
    return page_of([ParkedRowOut(**row.as_dict()) for row in rows], limit, lambda row: row.id)


@router.post("/outbox/parked/{row_id}/retry", responses=error_responses(404))
async def retry_parked_row(row_id: RowId, request: Request, _: Admin) -> Retried:
    """Hand a parked row back to the relay once its cause is fixed; refused again, it is parked again. 404 naming
    ``row_id`` when no parked row has this id (also one retried already)."""
    async with request.app.state.runtime.connection() as conn:
        retried = await unpark(conn, [row_id])
    if not retried:
        raise NotFound("没有该编号的暂停发布消息 (no parked outbox row with this id)", "row_id")
    return Retried(id=row_id, status="pending")


@router.get("/timers/failed")
async def list_failed_timers(request: Request, _: Admin, limit: Limit = 100,
                             after: IdAfter = None) -> Page[FailedTimerOut]:
    """Durable timers whose handler failed every attempt: they fire no more until retried."""
    async with request.app.state.runtime.connection() as conn:
        timers = await failed_timers_page(conn, limit=limit, after=after)
    items = [FailedTimerOut(id=t.id, kind=t.kind, key=t.key, due_at=t.due_at.isoformat(), attempts=t.attempts,
                            last_error=t.last_error, payload=t.payload) for t in timers]
    return page_of(items, limit, lambda timer: timer.id)


@router.post("/timers/failed/{timer_id}/retry", responses=error_responses(404))
async def retry_failed_timer(timer_id: RowId, request: Request, _: Admin) -> Retried:
    """Give a failed timer its attempts back: the service fires it on its next poll. 404 naming ``timer_id`` when no
    failed timer has this id."""
    async with request.app.state.runtime.connection() as conn:
        retried = await retry_failed(conn, timer_id)
    if not retried:
        raise NotFound("没有该编号的失败定时器 (no failed timer with this id)", "timer_id")
    return Retried(id=timer_id, status="pending")
