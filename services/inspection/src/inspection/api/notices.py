"""/v1/notices: circulated notices (通报). A unit reads only its own, a scoped supervisor those of the units its
scope covers (``inspection.reach``; any other is the same 404 as an unknown id); inspectors, admins and supervisors
without a scope read all. Notices exist only from a release on, so nothing here moves during a covert phase."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder

from inspection import notices
from inspection.api.docs import SCOPED_LISTING_RESPONSES, IdAfter
from inspection.context import Context
from pingan_shared.auth import Principal, Role
from pingan_shared.http.paging import Limit, Page
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["notices"])
Reader = Annotated[Principal, Depends(require_roles(Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN))]


def notice_json(view: notices.NoticeView) -> dict[str, Any]:
    n = view.notice
    return jsonable_encoder({"id": n.id, "number": n.label, "unit_id": n.unit_id, "cycle_id": n.cycle_id,
                             "status": n.status, "issued_at": n.issued_at, "closed_at": n.closed_at,
                             "tasks": view.tasks})


@router.get("/notices", responses=SCOPED_LISTING_RESPONSES)
async def list_notices(
    ctx: Context, principal: Reader,
    status: Literal["open", "closed"] | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    unit_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    after: IdAfter = None,
) -> Page[dict[str, Any]]:
    """Notices in id order; another unit's id as a filter: an empty page for a unit, a 403 for a scoped supervisor."""
    page = await notices.list_notices(ctx, principal, status=status, year=year, unit_id=unit_id, limit=limit,
                                      after=after)
    return Page(items=[notice_json(v) for v in page.items], next_after=page.next_after)


@router.get("/notices/{notice_id}")
async def get_notice(notice_id: str, ctx: Context, principal: Reader) -> dict[str, Any]:
    return notice_json(await notices.get_notice(ctx, principal, notice_id))
