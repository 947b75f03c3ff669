"""/v1/shifts: the published roster, by period, member, team and date (organisers; supervisors the published
roster; a member sees its own)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from pingan_shared.auth import Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.paging import After, Limit, Page, page_of
from roster import shifts, visibility
from roster.api.deps import IdQuery, OrganiserOrMember, ShiftReader
from roster.context import Context
from roster.domain.members import Day

router = APIRouter(prefix="/v1", tags=["shifts"])


@router.get("/shifts")
async def list_shifts(
    ctx: Context, who: ShiftReader, limit: Limit = 100, after: After = None,
    period_id: IdQuery = None, member_id: IdQuery = None, team_id: IdQuery = None,
    day_from: Annotated[Day | None, Query(description="local date, e.g. 2026-12-01")] = None,
    day_to: Annotated[Day | None, Query()] = None,
    include_unpublished: bool = False,
) -> Page[dict[str, Any]]:
    """Shifts with their members. A member token sees only published shifts it is on (asking for another
    member's is refused); a supervisor sees published shifts only (asking for drafts is refused)."""
    if who.role is Role.SUPERVISOR and include_unpublished:
        raise ApiError(403, "督查人员只能查看已发布的排班 (a supervisor sees only the published roster)",
                       field="query.include_unpublished")
    if who.role is Role.MEMBER:
        if member_id is not None and member_id != who.subject:
            raise ApiError(403, "队员只能查看自己的班次 (a member sees only its own shifts)", field="query.member_id")
        member_id, include_unpublished = who.subject, False
    items = await shifts.list_shifts(ctx, period_id=period_id, member_id=member_id, team_id=team_id,
                                     day_from=day_from, day_to=day_to, published_only=not include_unpublished,
                                     after=after, limit=limit)
    return page_of(items, limit, lambda shift: shift["shift_id"])


@router.get("/shifts/{shift_id}")
async def get_shift(shift_id: Annotated[str, Path(max_length=200)], ctx: Context,
                    who: OrganiserOrMember) -> dict[str, Any]:
    """A shift with its crew; a member reads only a shift it is on (any other answers as one that does not exist)."""
    return await shifts.get_shift(ctx, shift_id, viewer=visibility.viewer(who))
