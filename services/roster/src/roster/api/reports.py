"""/v1/reports/attendance: attendance and fairness per member, team or organisation over a period or a year.

ORGANISER and ADMIN read everyone. A MEMBER reads only their own figures (the token's subject is their member
id): asking for another member, or for team or organisation figures, is a 403 — a member never learns another's
attendance.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder

from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import Limit
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr
from roster import reports, visibility
from roster.context import Context
from roster.domain.reports import GroupBy

router = APIRouter(prefix="/v1", tags=["reports"])
ONLY_OWN = "队员只能查看自己的出勤 (a member sees only their own figures)"
Reader = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.MEMBER))]


@router.get("/reports/attendance", responses=error_responses(404))
async def attendance_report(
    ctx: Context, who: Reader,
    period_id: Annotated[StorableStr | None, Query(max_length=100, description="one period (期)")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description=(
        "a calendar year (local); default this year when no period is given; with a period: the period must start "
        "in it (else 404)"))] = None,
    group_by: GroupBy = GroupBy.MEMBER,
    member_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    team_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    org_id: Annotated[StorableStr | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    after: Annotated[StorableStr | None, Query(max_length=100, description="next_after of the previous page")] = None,
) -> dict[str, Any]:
    """Duties and nights per person, attended / no-show / resolved / pending, the year's cumulative duties and
    nights (earlier periods included), and the spread between the most and the least loaded person — per
    member, or per team or organisation with the spread inside each; ``places`` and ``townships``: the same people's
    duties in scope per place and per township (镇街) by the directory, with its names. 404: no such period (in that
    year); for a member, also a period it does not serve in (the same answer)."""
    if who.role is Role.MEMBER:
        if group_by is not GroupBy.MEMBER:
            raise ApiError(403, ONLY_OWN, field="query.group_by")
        if member_id is not None and member_id != who.subject:
            raise ApiError(403, ONLY_OWN, field="query.member_id")
        member_id = who.subject
    query = reports.Query(period_id=period_id, year=year, group_by=group_by, member_id=member_id, team_id=team_id,
                          org_id=org_id, limit=limit, after=after, viewer=visibility.viewer(who))
    async with ctx.runtime.connection() as conn:
        report = await reports.attendance_report(conn, ctx, query)
    result: dict[str, Any] = jsonable_encoder(report)
    return result
