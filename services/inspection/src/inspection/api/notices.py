"""/v1/notices: circulated notices (通报). A unit reads only its own, a scoped supervisor those of the units its
scope covers (``inspection.reach``; any other is the same 404 as an unknown id); inspectors, admins and supervisors
without a scope read all. Notices exist only from a release on, so nothing here moves during a covert phase."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder

from inspection import reach
from inspection.api.docs import SCOPED_LISTING_RESPONSES
from inspection.context import Context
from inspection.store import notices as store
from inspection.store import tasks as task_store
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["notices"])
Reader = Annotated[Principal, Depends(require_roles(Role.UNIT, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN))]
NOT_FOUND = "通报不存在 (no such notice)"


@router.get("/notices", responses=SCOPED_LISTING_RESPONSES)
async def list_notices(
    ctx: Context, principal: Reader,
    status: Literal["open", "closed"] | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    unit_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[StorableStr | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Notices in id order; another unit's id as a filter: an empty page for a unit, a 403 for a scoped supervisor."""
    async with ctx.runtime.connection() as conn:
        units = reach.listing(await reach.reach_of(conn, principal), principal, unit_id)
        rows = await store.page(conn, units=units, status=status, year=year, limit=limit, after=after)
        tasks = await task_store.summaries_of_notices(conn, [r["id"] for r in rows])
    items = [store.as_dict(r) | {"tasks": tasks[r["id"]]} for r in rows]
    return jsonable_encoder({"items": items, "next_after": rows[-1]["id"] if len(rows) == limit else None})


@router.get("/notices/{notice_id}")
async def get_notice(notice_id: str, ctx: Context, principal: Reader) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, notice_id)
        if row is None or not (await reach.reach_of(conn, principal)).covers(row["unit_id"]):
            raise ApiError(404, NOT_FOUND, field="notice_id")
        tasks = await task_store.summaries_of_notices(conn, [notice_id])
    return jsonable_encoder(store.as_dict(row) | {"tasks": tasks[notice_id]})
