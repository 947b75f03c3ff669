"""Attendance: the daily tally from scans, check-ins (签到) on a shift, and who was present on a shift.

A MEMBER checks in only themself (the token's subject is their member id); an ORGANISER or ADMIN checks in anyone
on the shift, and may give an earlier time inside the shift's window (a paper sign-in sheet typed in later).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import Moment
from pingan_shared.text import StorableStr
from roster import attendance, presence, visibility
from roster.context import Context
from roster.domain.members import Day

router = APIRouter(prefix="/v1")

ShiftId = Annotated[StorableStr, Path(max_length=100)]


@router.get("/attendance", tags=["attendance"])
async def get_attendance(
    ctx: Context,
    _: Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.SUPERVISOR, Role.ADMIN))],
    day: Annotated[Day | None, Query(description="local date, e.g. 2026-11-22")] = None,
    team_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    member_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Scans per team member and local day (the app's member id, as scanned)."""
    total, rows = await attendance.daily(ctx, day=day, team_id=team_id, member_id=member_id, limit=limit)
    return {"total_scans": total, "attendance": rows}


class CheckInIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    member_id: StorableStr | None = Field(
        default=None, min_length=1, max_length=64,
        description="who is checked in; a member's own token may leave it out (it is the token's subject)")
    at: Moment | None = Field(
        default=None, description="organisers only: when the member was there (inside the shift's window, not "
                                  "in the future); default now")


_CHECK_IN_ROLES = require_roles(Role.MEMBER, Role.ORGANISER, Role.ADMIN)


@router.post("/shifts/{shift_id}/check-ins", tags=["attendance"], status_code=201, response_model=None,
             responses=error_responses(409))
async def check_in(shift_id: ShiftId, ctx: Context, who: Annotated[Principal, Depends(_CHECK_IN_ROLES)],
                   body: CheckInIn | None = None) -> JSONResponse:
    """签到: mark a member present on a published shift. 201 for the member's first check-in on the shift, 200
    when they had checked in already (the first time stands). A check-in after the no-show fired resolves its
    alert; the no-show stays on record."""
    body = body or CheckInIn()
    by_organiser = who.role is not Role.MEMBER
    member_id = body.member_id or (None if by_organiser else who.subject)
    if not by_organiser and member_id != who.subject:
        raise ApiError(403, "队员只能为自己签到 (a member checks in only themself)", field="body.member_id")
    async with ctx.runtime.connection() as conn, conn.transaction():
        recorded, row = await presence.check_in(conn, ctx, shift_id=shift_id, member_id=member_id,
                                                by=who.subject, by_organiser=by_organiser, at=body.at)
    content = {**row, "first_check_in": recorded.first, "resolved_no_show": recorded.resolved}
    return JSONResponse(status_code=201 if recorded.first else 200, content=jsonable_encoder(content))


@router.get("/shifts/{shift_id}/presence", tags=["attendance"])
async def shift_presence(
    shift_id: ShiftId, ctx: Context,
    who: Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.SUPERVISOR, Role.ADMIN, Role.MEMBER))],
) -> dict[str, Any]:
    """Everyone on the shift now: present (when, by scan or check-in), no-show (when, and whether resolved by a
    later presence) or not checked yet. A member reads a shift it is on (its crew's presence); any other answers as
    a shift that does not exist."""
    members = await presence.of_shift(ctx, shift_id, viewer=visibility.viewer(who))
    return {"shift_id": shift_id, "members": jsonable_encoder(members)}
