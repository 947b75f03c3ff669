"""/v1/organisations and /v1/members: who serves (organisers and admins register; a member reads itself)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from pingan_shared.auth import Role
from pingan_shared.http.body import CSV_TYPES, csv_body
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from roster import members
from roster.api.deps import After, IdQuery, Limit, Organiser, OrganiserOrMember
from roster.context import Context
from roster.domain.members import MEMBER_CSV_COLUMNS, MemberIn, MemberRole, NotCsv, OrganisationIn, OrgKind
from roster.store import members as store

router = APIRouter(prefix="/v1", tags=["members"])
MemberId = Annotated[str, Path(max_length=64)]
_CSV_HEADER = ",".join(MEMBER_CSV_COLUMNS)


@router.post("/organisations", status_code=201, response_model=None, responses={
    200: {"description": "The same organisation was registered before."}, **error_responses(409)})
async def register_organisation(org: OrganisationIn, ctx: Context, _: Organiser) -> JSONResponse:
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome = await members.register_org(conn, org, ctx.now())
    if outcome is members.Outcome.CONFLICT:
        raise ApiError(409, "该编号已用于内容不同的组织 (a different organisation has this id)", field="org_id")
    return JSONResponse(status_code=201 if outcome is members.Outcome.CREATED else 200,
                        content=org.model_dump(mode="json"))


OrgId = Annotated[str, Path(max_length=64)]


@router.get("/organisations/{org_id}")
async def get_organisation(org_id: OrgId, ctx: Context, _: Organiser) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get_org(conn, org_id)
    if row is None:
        raise ApiError(404, "没有该组织 (no such organisation)")
    return dict(row)


@router.put("/organisations/{org_id}", responses=error_responses(409))
async def replace_organisation(org_id: OrgId, org: OrganisationIn, ctx: Context, _: Organiser) -> dict[str, Any]:
    """Rename or re-classify an organisation (its id stays: members name it)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        if await store.get_org(conn, org_id) is None:
            raise ApiError(404, "没有该组织 (no such organisation)")
        if org.org_id != org_id:
            raise ApiError(409, "路径与请求体的组织编号不一致 (org_id differs from the path)", field="body.org_id")
        await store.update_org(conn, org)
    return org.model_dump(mode="json")


@router.get("/organisations")
async def list_organisations(ctx: Context, _: Organiser, limit: Limit = 100, after: After = None,
                             kind: OrgKind | None = None) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        rows = await store.list_orgs(conn, kind=kind.value if kind else None, after=after, limit=limit)
    items = [dict(r) for r in rows]
    return {"organisations": items, "next_after": items[-1]["org_id"] if len(items) == limit else None}


def _refuse(outcome: members.Outcome) -> None:
    if outcome is members.Outcome.NOT_FOUND:
        raise ApiError(404, "没有该队员 (no such member)")
    if outcome in members.REFUSALS:
        field, reason = members.REFUSALS[outcome]
        raise ApiError(409, reason, field=f"body.{field}")


@router.post("/members", status_code=201, response_model=None, responses={
    200: {"description": "The same member was registered before."}, **error_responses(409)})
async def register_member(member: MemberIn, ctx: Context, _: Organiser) -> JSONResponse:
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome = await members.register_member(conn, member, ctx.now(), replace=False)
    _refuse(outcome)
    return JSONResponse(status_code=201 if outcome is members.Outcome.CREATED else 200,
                        content=member.model_dump(mode="json"))


@router.put("/members/{member_id}", response_model=None, responses=error_responses(409))
async def replace_member(member_id: MemberId, member: MemberIn, ctx: Context, _: Organiser) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn, conn.transaction():
        if await store.get_member(conn, member_id) is None:
            raise ApiError(404, "没有该队员 (no such member)")
        if member.member_id != member_id:
            raise ApiError(409, "路径与请求体的队员编号不一致 (member_id differs from the path)",
                           field="body.member_id")
        outcome = await members.register_member(conn, member, ctx.now(), replace=True)
    _refuse(outcome)
    return member.model_dump(mode="json")


@router.delete("/members/{member_id}", status_code=204, response_model=None)
async def deactivate_member(member_id: MemberId, ctx: Context, _: Organiser) -> Response:
    """A member leaves: kept (their past shifts name them) but no longer active for new periods."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        found = await store.deactivate(conn, member_id, ctx.now())
    if not found:
        raise ApiError(404, "没有该队员 (no such member)")
    return Response(status_code=204)


@router.post("/member-imports", response_model=None, responses=error_responses(400), openapi_extra={
    "requestBody": {"required": True, "content": {media: {"schema": {
        "type": "string", "description": f"UTF-8 CSV with the header {_CSV_HEADER} (skills separated by ;)",
        "pattern": r"^\ufeff?member_id,name,org_id,role(,[^\r\n\x00]*)?(\r\n|\r|\n|$)[^\x00]*$"}}
        for media in CSV_TYPES}}})
async def import_members(request: Request, ctx: Context, _: Organiser) -> dict[str, Any]:
    """Members from a CSV file, each row answered on its own: created, unchanged, or rejected with its errors."""
    raw = await csv_body(request)
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            report = await members.import_members(conn, raw, ctx.now(), max_rows=ctx.settings.max_import_rows)
    except NotCsv as exc:
        raise ApiError(400, str(exc), field="(body)") from exc
    return report.as_dict()


@router.get("/members")
async def list_members(
    ctx: Context, _: Organiser, limit: Limit = 100, after: After = None,
    org_id: IdQuery = None,
    role: MemberRole | None = None,
    team_id: IdQuery = None,
    active: bool | None = None,
) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        rows = await store.list_members(conn, org_id=org_id, role=role.value if role else None, team_id=team_id,
                                        active=active, after=after, limit=limit)
        absent = await store.get_unavailability(conn, [r["member_id"] for r in rows])
    items = [store.member_json(r, absent) for r in rows]
    return {"members": items, "next_after": items[-1]["member_id"] if len(items) == limit else None}


@router.get("/members/{member_id}")
async def get_member(member_id: MemberId, ctx: Context, who: OrganiserOrMember) -> dict[str, Any]:
    """Organisers read anyone; a member reads only itself (another id answers 404, as if absent)."""
    if who.role is Role.MEMBER and who.subject != member_id:
        raise ApiError(404, "没有该队员 (no such member)")
    async with ctx.runtime.connection() as conn:
        row = await store.get_member(conn, member_id)
        if row is None:
            raise ApiError(404, "没有该队员 (no such member)")
        absent = await store.get_unavailability(conn, [member_id])
    return store.member_json(row, absent)
