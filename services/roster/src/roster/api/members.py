"""/v1/organisations and /v1/members: who serves (organisers and admins register; a member reads itself)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from pingan_shared.auth import Role
from pingan_shared.http.body import csv_body, csv_request_body
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import After, Limit, Page, page_of
from pingan_shared.refused import NotFound
from pingan_shared.text import StorableStr
from roster import members
from roster.api.deps import IdQuery, Organiser, OrganiserOrMember
from roster.context import Context
from roster.domain.members import MEMBER_CSV_COLUMNS, MemberIn, MemberRole, OrganisationIn, OrgKind

router = APIRouter(prefix="/v1", tags=["members"])
MemberId = Annotated[str, Path(max_length=64)]
OrgId = Annotated[str, Path(max_length=64)]
_CSV_HEADER = ",".join(MEMBER_CSV_COLUMNS)


@router.post("/organisations", status_code=201, response_model=None, responses={
    200: {"description": "The same organisation was registered before."}, **error_responses(409, 422)})
async def register_organisation(org: OrganisationIn, ctx: Context, _: Organiser) -> JSONResponse:
    """An organisation whose people stand duty; its ``area`` a place of the directory (kept by code). A member may
    also name an organisation of the directory directly: roster registers it from its entry."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome, stored = await members.register_org(conn, org, ctx.now())
    return JSONResponse(status_code=201 if outcome is members.Outcome.CREATED else 200,
                        content=stored.model_dump(mode="json"))


@router.get("/organisations/{org_id}")
async def get_organisation(org_id: OrgId, ctx: Context, _: Organiser) -> dict[str, Any]:
    return await members.get_org(ctx, org_id)


@router.put("/organisations/{org_id}", responses=error_responses(409, 422))
async def replace_organisation(org_id: OrgId, org: OrganisationIn, ctx: Context, _: Organiser) -> dict[str, Any]:
    """Rename or re-classify an organisation (its id stays: members name it)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        stored = await members.replace_org(conn, org_id, org)
    return stored.model_dump(mode="json")


@router.get("/organisations")
async def list_organisations(ctx: Context, _: Organiser, limit: Limit = 100, after: After = None,
                             kind: OrgKind | None = None) -> Page[dict[str, Any]]:
    items = await members.list_orgs(ctx, kind=kind.value if kind else None, after=after, limit=limit)
    return page_of(items, limit, lambda org: org["org_id"])


@router.post("/members", status_code=201, response_model=None, responses={
    200: {"description": "The same member was registered before."}, **error_responses(409)})
async def register_member(member: MemberIn, ctx: Context, _: Organiser) -> JSONResponse:
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome = await members.register_member(conn, member, ctx.now())
    return JSONResponse(status_code=201 if outcome is members.Outcome.CREATED else 200,
                        content=member.model_dump(mode="json"))


@router.put("/members/{member_id}", response_model=None, responses=error_responses(409))
async def replace_member(member_id: MemberId, member: MemberIn, ctx: Context, _: Organiser) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn, conn.transaction():
        await members.replace_member(conn, member_id, member, ctx.now())
    return member.model_dump(mode="json")


@router.delete("/members/{member_id}", status_code=204, response_model=None)
async def deactivate_member(member_id: MemberId, ctx: Context, _: Organiser) -> Response:
    """A member leaves: kept (their past shifts name them) but no longer active for new periods."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        await members.deactivate(conn, member_id, ctx.now())
    return Response(status_code=204)


@router.post("/member-imports", response_model=None, responses=error_responses(400), openapi_extra=csv_request_body(
    "member_id,name,org_id,role", f"UTF-8 CSV with the header {_CSV_HEADER} (skills separated by ;)"))
async def import_members(request: Request, ctx: Context, _: Organiser) -> dict[str, Any]:
    """Members from a CSV file, each row answered on its own: created, unchanged, or rejected with its errors."""
    raw = await csv_body(request)
    async with ctx.runtime.connection() as conn, conn.transaction():
        report = await members.import_members(conn, raw, ctx.now(), max_rows=ctx.settings.max_import_rows)
    return report.as_dict()


@router.get("/members")
async def list_members(
    ctx: Context, _: Organiser, limit: Limit = 100, after: After = None,
    org_id: IdQuery = None,
    role: MemberRole | None = None,
    team_id: IdQuery = None,
    active: bool | None = None,
    name: Annotated[StorableStr | None, Query(max_length=64, description=(
        "part of the member's name or id, any case (张, m0)"))] = None,
) -> Page[dict[str, Any]]:
    items = await members.list_members(ctx, org_id=org_id, role=role.value if role else None, team_id=team_id,
                                       active=active, name=name or None, after=after, limit=limit)
    return page_of(items, limit, lambda member: member["member_id"])


@router.get("/members/{member_id}")
async def get_member(member_id: MemberId, ctx: Context, who: OrganiserOrMember) -> dict[str, Any]:
    """Organisers read anyone; a member reads only itself (another id answers 404, as if absent)."""
    if who.role is Role.MEMBER and who.subject != member_id:
        raise NotFound(members.NO_SUCH_MEMBER)
    return await members.get_member(ctx, member_id)
