"""/v1/calendar: iCalendar feeds of shifts for phone calendars, reached by a secret in the URL (``roster.ical``).

Making and revoking a feed's token needs a bearer token: a MEMBER for their own feed, an ORGANISER or ADMIN for any
member's or team's. Reading the feed needs only the URL: ``GET /v1/calendar/feeds/<token>.ics`` (text/calendar).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from fastapi.responses import JSONResponse

from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr
from roster import ical
from roster.context import Context

router = APIRouter(prefix="/v1/calendar", tags=["calendar"])
MemberOrStaff = Annotated[Principal, Depends(require_roles(Role.MEMBER, Role.ORGANISER, Role.ADMIN))]
Staff = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))]
MemberId = Annotated[StorableStr, Path(max_length=64)]
TeamId = Annotated[StorableStr, Path(max_length=64)]
Token = Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]

_ISSUED: dict[int | str, dict[str, Any]] = {
    201: {"description": "The feed's token and URL: shown this once, keep them (the old URL stops working)."}}
_FEED: dict[int | str, dict[str, Any]] = {
    200: {"description": "The calendar (RFC 5545).", "content": {"text/calendar": {"schema": {"type": "string"}}}}}


def _issued(token: str, owner: ical.Owner, owner_id: str) -> JSONResponse:
    return JSONResponse(status_code=201, content={"owner": owner.value, "owner_id": owner_id, "token": token,
                                                  "url": ical.feed_path(token)},
                        headers={"Cache-Control": "no-store"})


def _own_feed(who: Principal, member_id: str) -> None:
    if who.role is Role.MEMBER and who.subject != member_id:
        raise ApiError(403, "队员只能管理自己的日历 (a member manages only their own calendar)", field="member_id")


@router.post("/members/{member_id}/feed", status_code=201, response_model=None,
             responses={**_ISSUED, **error_responses(404)})
async def issue_member_feed(member_id: MemberId, ctx: Context, who: MemberOrStaff) -> JSONResponse:
    """A new feed URL for the member's shifts (revoking the previous one)."""
    _own_feed(who, member_id)
    async with ctx.runtime.connection() as conn, conn.transaction():
        token = await ical.issue_token(conn, ctx, ical.Owner.MEMBER, member_id, by=who.subject)
    return _issued(token, ical.Owner.MEMBER, member_id)


@router.delete("/members/{member_id}/feed", status_code=204, response_class=Response, responses=error_responses(404))
async def revoke_member_feed(member_id: MemberId, ctx: Context, who: MemberOrStaff) -> Response:
    """Revoke the member's feed URL: it answers 404 from now on. 404: no live feed."""
    _own_feed(who, member_id)
    async with ctx.runtime.connection() as conn, conn.transaction():
        await ical.revoke_token(conn, ctx, ical.Owner.MEMBER, member_id)
    return Response(status_code=204)


@router.post("/teams/{team_id}/feed", status_code=201, response_model=None,
             responses={**_ISSUED, **error_responses(404)})
async def issue_team_feed(team_id: TeamId, ctx: Context, who: Staff) -> JSONResponse:
    """A new feed URL for the team's shifts (revoking the previous one)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        token = await ical.issue_token(conn, ctx, ical.Owner.TEAM, team_id, by=who.subject)
    return _issued(token, ical.Owner.TEAM, team_id)


@router.delete("/teams/{team_id}/feed", status_code=204, response_class=Response, responses=error_responses(404))
async def revoke_team_feed(team_id: TeamId, ctx: Context, _: Staff) -> Response:
    """Revoke the team's feed URL. 404: no live feed."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        await ical.revoke_token(conn, ctx, ical.Owner.TEAM, team_id)
    return Response(status_code=204)


@router.get("/feeds/{token}.ics", response_class=Response, responses=_FEED)
async def read_feed(token: Token, ctx: Context) -> Response:
    """The feed a live token opens, for a phone calendar's subscription. No bearer header: the token in the URL
    is the credential. 404 for a wrong or revoked token."""
    async with ctx.runtime.connection() as conn:
        body = await ical.feed_for_token(conn, ctx, token)
    headers: dict[str, Any] = {"Cache-Control": "private, max-age=300",
                               "Content-Disposition": 'inline; filename="roster.ics"'}
    return Response(content=body, media_type="text/calendar; charset=utf-8", headers=headers)
