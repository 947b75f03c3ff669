"""/v1/shifts/{id}/swap-requests, /v1/swap-requests, /v1/shifts/{id}/override, /v1/me/notices: changing a
published crew (a member asks for its own shift; an organiser approves, refuses or overrides) and a member's
handoff reminders."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.security import require_roles
from roster import swaps, visibility
from roster.api.deps import After, IdQuery, Limit, Organiser, OrganiserOrMember
from roster.context import Context
from roster.domain.members import FreeText, Id

router = APIRouter(prefix="/v1", tags=["swaps"])
ShiftId = Annotated[str, Path(max_length=200)]
Note = Annotated[FreeText, Field(max_length=500)]


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


def _refused(exc: swaps.Refused) -> ApiError:
    """A change the hard rules (or the roster as it stands) do not allow: 409, the reasons in words."""
    field = exc.field if exc.field in ("shift_id", "request_id") else f"body.{exc.field}"
    return ApiError(409, "；".join(exc.reasons), field=field)


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
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            request_id = await swaps.request_swap(conn, ctx, shift_id, from_member, body.to_member_id, body.note,
                                                  who.subject, viewer=visibility.viewer(who))
    except swaps.NotFound as exc:
        raise ApiError(404, visibility.NO_SUCH_SHIFT, field="shift_id") from exc
    except swaps.Refused as exc:
        raise _refused(exc) from exc
    return {"request_id": request_id, "shift_id": shift_id, "from_member_id": from_member,
            "to_member_id": body.to_member_id, "status": "pending"}


@router.get("/swap-requests")
async def list_swap_requests(ctx: Context, who: OrganiserOrMember, limit: Limit = 100, after: After = None,
                             status: Literal["pending", "approved", "refused", "withdrawn"] | None = None,
                             member_id: IdQuery = None,
                             ) -> dict[str, Any]:
    """Organisers see all; a member sees the requests it made or is named in."""
    if who.role is Role.MEMBER:
        if member_id not in (None, who.subject):
            raise ApiError(403, "队员只能查看自己的调班申请 (a member sees only its own requests)",
                           field="query.member_id")
        member_id = who.subject
    async with ctx.runtime.connection() as conn:
        rows = await conn.fetch(
            """SELECT request_id, shift_id, from_member_id, to_member_id, note, status, requested_by, requested_at,
                      decided_by, decided_at, decision_reason FROM swap_requests
               WHERE ($1::text IS NULL OR status = $1)
                 AND ($2::text IS NULL OR from_member_id = $2 OR to_member_id = $2)
                 AND ($3::text IS NULL OR request_id > $3)
               ORDER BY request_id LIMIT $4""", status, member_id, after, limit)
    items = [dict(r) for r in rows]
    return {"swap_requests": items, "next_after": items[-1]["request_id"] if len(items) == limit else None}


@router.post("/swap-requests/{request_id}/decision", responses=error_responses(409))
async def decide(request_id: Annotated[str, Path(max_length=64)], body: DecisionIn, ctx: Context,
                 who: Organiser) -> dict[str, Any]:
    """Approve (the change is checked against the hard rules; a refusal answers 409 with the reasons and leaves
    the request pending) or refuse a swap request."""
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            changed = await swaps.decide(conn, ctx, request_id, approve=body.decision == "approve",
                                         to_member_id=body.to_member_id, reason=body.reason, by=who.subject)
    except swaps.NotFound as exc:
        raise ApiError(404, "没有该调班申请 (no such request)") from exc
    except swaps.Refused as exc:
        raise _refused(exc) from exc
    if changed is None:
        return {"request_id": request_id, "status": "refused"}
    return {"request_id": request_id, "status": "approved", "shift_id": changed.shift_id,
            "member_ids": changed.member_ids}


@router.post("/swap-requests/{request_id}/withdrawal", responses=error_responses(409))
async def withdraw(request_id: Annotated[str, Path(max_length=64)], ctx: Context,
                   who: Annotated[Principal, Depends(require_roles(Role.MEMBER))]) -> dict[str, Any]:
    """The member who asked takes its pending request back (another member's request is 404)."""
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            await swaps.withdraw(conn, ctx, request_id, who.subject)
    except swaps.NotFound as exc:
        raise ApiError(404, "没有该调班申请 (no such request)") from exc
    except swaps.Refused as exc:
        raise _refused(exc) from exc
    return {"request_id": request_id, "status": "withdrawn"}


@router.post("/shifts/{shift_id}/override", responses=error_responses(409))
async def override(shift_id: ShiftId, body: OverrideIn, ctx: Context, who: Organiser) -> dict[str, Any]:
    """Change a published crew directly (take someone off, put someone on, or both), checked like a swap. Naming
    nobody changes nothing and answers the crew as it is."""
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            changed = await swaps.override(conn, ctx, shift_id, remove=body.remove_member_id,
                                           add=body.add_member_id, reason=body.reason, by=who.subject)
    except swaps.NotFound as exc:
        raise ApiError(404, visibility.NO_SUCH_SHIFT, field="shift_id") from exc
    except swaps.Refused as exc:
        raise _refused(exc) from exc
    return {"shift_id": changed.shift_id, "member_ids": changed.member_ids}


@router.get("/me/notices")
async def my_notices(ctx: Context, who: OrganiserOrMember, limit: Limit = 100,
                     after: Annotated[int | None, Query(ge=0)] = None) -> dict[str, Any]:
    """A member's handoff reminders (newest last); an organiser's token has none of its own."""
    async with ctx.runtime.connection() as conn:
        rows = await conn.fetch(
            "SELECT id, shift_id, kind, text, created_at FROM member_notices WHERE member_id = $1"
            " AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3", who.subject, after, limit)
    items = [dict(r) for r in rows]
    return {"notices": items, "next_after": items[-1]["id"] if len(items) == limit else None}
