"""/v1/units: responsible units, one by one or from CSV (inspectors, admins); readable by every role."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from inspection import units
from inspection.api.docs import IMPORT_RESPONSES, UNIT_RESPONSES, units_import_request_body
from inspection.context import Context
from inspection.store import units as store
from pingan_shared.auth import Principal, Role
from pingan_shared.http.body import csv_body
from pingan_shared.http.errors import ApiError
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["units"])
Editor = Annotated[Principal, Depends(require_roles(Role.INSPECTOR, Role.ADMIN))]
Anyone = Annotated[Principal, Depends(require_roles(*Role))]


class UnitIdConvertor(Convertor[str]):
    """A unit id in a path: any segment but the reserved "import", which is the CSV import's own path. Without it
    GET /v1/units/{unit_id} matched /v1/units/import too, and a 405 there said "Allow: GET, POST"."""

    regex = rf"(?!{units.RESERVED_ID}$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("inspection_unit_id", UnitIdConvertor())


def unit_json(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in store.UNIT_COLUMNS.split(", ")}


@router.post("/units", status_code=201, response_model=None, responses=UNIT_RESPONSES)
async def register_unit(unit: units.UnitIn, ctx: Context, _: Editor) -> JSONResponse:
    """Register a unit; the identical registration again is harmless (200)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        outcome = await units.register(conn, unit)
    if outcome is units.Outcome.CONFLICT:
        raise ApiError(409, "该编号已用于内容不同的单位 (a different unit already has this id)", field="id")
    if outcome is units.Outcome.UNKNOWN_SUPERVISOR:
        raise ApiError(422, "主管单位不存在 (no such supervising unit)", field="supervising_unit_id")
    status = 201 if outcome is units.Outcome.CREATED else 200
    return JSONResponse(status_code=status, content=unit.model_dump(mode="json"))


@router.post("/units/import", response_model=None, responses=IMPORT_RESPONSES,
             openapi_extra=units_import_request_body())
async def import_units(request: Request, ctx: Context, _: Editor) -> dict[str, Any]:
    """Units from a CSV file (UTF-8, BOM tolerated) with the header id,name,kind,contact,supervising_unit_id.
    Each row is answered on its own: created, unchanged or rejected (with its errors)."""
    raw = await csv_body(request)
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            report = await units.import_csv(conn, raw, max_rows=ctx.settings.max_import_rows)
    except units.NotCsv as exc:
        raise ApiError(400, str(exc), field="(body)") from exc
    return report.as_dict()


@router.get("/units")
async def list_units(
    ctx: Context, _: Anyone,
    kind: units.UnitKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[StorableStr | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        rows = await store.page(conn, kind=kind.value if kind else None, limit=limit, after=after)
    return {"items": [unit_json(r) for r in rows], "next_after": rows[-1]["id"] if len(rows) == limit else None}


@router.get("/units/{unit_id:inspection_unit_id}")
async def get_unit(unit_id: str, ctx: Context, _: Anyone) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, unit_id)
    if row is None:
        raise ApiError(404, "单位不存在 (no such unit)", field="unit_id")
    return unit_json(row)
