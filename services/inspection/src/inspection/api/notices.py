"""/v1/notices: circulated notices (通报). A unit reads only its own (another's is the same 404 as an unknown
id); supervisors, inspectors and admins read all. Notices exist only from a release on, so nothing here
moves during a covert phase."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder

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


@router.get("/notices")
async def list_notices(
    ctx: Context, principal: Reader,
    status: Literal["open", "closed"] | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    unit_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[StorableStr | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    if principal.role is Role.UNIT:
        if unit_id is not None and unit_id != principal.unit_id:
            return {"items": [], "next_after": None}  # another unit's: an empty page, never an error
        unit_id = principal.unit_id
    async with ctx.runtime.connection() as conn:
        rows = await store.page(conn, unit_id=unit_id, status=status, year=year, limit=limit, after=after)
        tasks = await task_store.summaries_of_notices(conn, [r["id"] for r in rows])
    items = [store.as_dict(r) | {"tasks": tasks[r["id"]]} for r in rows]
    return jsonable_encoder({"items": items, "next_after": rows[-1]["id"] if len(rows) == limit else None})


@router.get("/notices/{notice_id}")
async def get_notice(notice_id: str, ctx: Context, principal: Reader) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, notice_id)
        if row is None or (principal.role is Role.UNIT and row["unit_id"] != principal.unit_id):
            raise ApiError(404, NOT_FOUND, field="notice_id")
        tasks = await task_store.summaries_of_notices(conn, [notice_id])
    return jsonable_encoder(store.as_dict(row) | {"tasks": tasks[notice_id]})
