"""/v1/shifts/{id}/swap-requests, /v1/swap-requests, /v1/shifts/{id}/override, /v1/me/notices: changing a
published crew (a member asks for its own shift; an organiser approves, refuses or overrides) and a member's
handoff reminders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import After, Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import free_text
from roster import handoff, swaps, visibility
from roster.api.deps import IdQuery, Organiser, OrganiserOrMember
from roster.context import Context
from roster.domain.members import Id
from roster.domain.notices import Notice
from roster.domain.swaps import SwapRequest

router = APIRouter(prefix="/v1", tags=["swaps"])
ShiftId = Annotated[str, Path(max_length=200)]
if TYPE_CHECKING:
    Note = str
else:
    Note = free_text(500)


class SwapRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_member_id: Id | None = Field(default=None, description="organisers only; a member token asks for itself")
    to_member_id: Id | None = Field(default=None, description="the member who would take the shift, if known")
    note: Note = ""


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "refuse"]
    to_member_id: Id | None = Field(default=None, description="the member who takes the shift (approve)")
    reason: Note = ""


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remove_member_id: Id | None = None
    add_member_id: Id | None = None
    reason: Note = ""


@router.post("/shifts/{shift_id}/swap-requests", status_code=201, responses=error_responses(409))
async def request_swap(shift_id: ShiftId, body: SwapRequestIn, ctx: Context, who: OrganiserOrMember,
                       ) -> dict[str, Any]:
    """Ask to hand a shift to someone else. A member may ask only for a shift it is on (any other answers as a
    shift that does not exist: 404); a named replacement is checked against the hard rules at once (409 with the
    reasons)."""
    if who.role is Role.MEMBER:
        if body.from_member_id not in (None, who.subject):
            raise ApiError(403, "队员只能申请调换自己的班次 (a member asks only for its own shifts)",
                           field="body.from_member_id")
        from_member = who.subject
    else:
        from_member = body.from_member_id  # None: refused below, once the shift is known to exist
    async with ctx.runtime.connection() as conn, conn.transaction():
        request_id = await swaps.request_swap(conn, ctx, shift_id, from_member, body.to_member_id, body.note,
                                              who.subject, viewer=visibility.viewer(who))
    return {"request_id": request_id, "shift_id": shift_id, "from_member_id": from_member,
            "to_member_id": body.to_member_id, "status": "pending"}


@router.get("/swap-requests")
async def list_swap_requests(ctx: Context, who: OrganiserOrMember, limit: Limit = 100, after: After = None,
                             status: Literal["pending", "approved", "refused", "withdrawn"] | None = None,
                             member_id: IdQuery = None,
                             ) -> Page[SwapRequest]:
    """Organisers see all; a member sees the requests it made or is named in."""
    if who.role is Role.MEMBER:
        if member_id not in (None, who.subject):
            raise ApiError(403, "队员只能查看自己的调班申请 (a member sees only its own requests)",
                           field="query.member_id")
        member_id = who.subject
    items = await swaps.requests(ctx, status=status, member_id=member_id, after=after, limit=limit)
    return page_of(items, limit, lambda request: request.request_id)


@router.post("/swap-requests/{request_id}/decision", responses=error_responses(409))
async def decide(request_id: Annotated[str, Path(max_length=64)], body: DecisionIn, ctx: Context,
                 who: Organiser) -> dict[str, Any]:
    """Approve (the change is checked against the hard rules; a refusal answers 409 with the reasons and leaves
    the request pending) or refuse a swap request."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        changed = await swaps.decide(conn, ctx, request_id, approve=body.decision == "approve",
                                     to_member_id=body.to_member_id, reason=body.reason, by=who.subject)
    if changed is None:
        return {"request_id": request_id, "status": "refused"}
    return {"request_id": request_id, "status": "approved", "shift_id": changed.shift_id,
            "member_ids": changed.member_ids}


@router.post("/swap-requests/{request_id}/withdrawal", responses=error_responses(409))
async def withdraw(request_id: Annotated[str, Path(max_length=64)], ctx: Context,
                   who: Annotated[Principal, Depends(require_roles(Role.MEMBER))]) -> dict[str, Any]:
    """The member who asked takes its pending request back (another member's request is 404)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        await swaps.withdraw(conn, ctx, request_id, who.subject)
    return {"request_id": request_id, "status": "withdrawn"}


@router.post("/shifts/{shift_id}/override", responses=error_responses(409))
async def override(shift_id: ShiftId, body: OverrideIn, ctx: Context, who: Organiser) -> dict[str, Any]:
    """Change a published crew directly (take someone off, put someone on, or both), checked like a swap. Naming
    nobody changes nothing and answers the crew as it is."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        changed = await swaps.override(conn, ctx, shift_id, remove=body.remove_member_id,
                                       add=body.add_member_id, reason=body.reason, by=who.subject)
    return {"shift_id": changed.shift_id, "member_ids": changed.member_ids}


@router.get("/me/notices")
async def my_notices(ctx: Context, who: OrganiserOrMember, limit: Limit = 100,
                     after: Annotated[int | None, Query(ge=0, description="next_after of the previous page")] = None,
                     ) -> Page[Notice]:
    """A member's handoff reminders (newest last); an organiser's token has none of its own."""
    items = await handoff.notices(ctx, who.subject, after=after, limit=limit)
    return page_of(items, limit, lambda notice: notice.id)
