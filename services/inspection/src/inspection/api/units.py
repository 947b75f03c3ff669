"""/v1/units: responsible units, one by one or from CSV (inspectors, admins); readable by every role."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from inspection import units
from inspection.api.docs import IMPORT_RESPONSES, UNIT_RESPONSES, IdAfter, units_import_request_body
from inspection.context import Context
from pingan_shared.auth import Principal, Role
from pingan_shared.http.body import csv_body
from pingan_shared.http.paging import Limit, Page
from pingan_shared.http.security import require_roles

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


@router.post("/units", status_code=201, response_model=None, responses=UNIT_RESPONSES)
async def register_unit(unit: units.UnitIn, ctx: Context, _: Editor) -> JSONResponse:
    """Register a unit: a township's government or a department of the directory, by code or unique name (kept
    under the code, answered with the place it serves); the identical registration again is harmless (200)."""
    outcome, answer = await units.register_unit(ctx, unit)
    status = 201 if outcome is units.Outcome.CREATED else 200
    return JSONResponse(status_code=status, content=asdict(answer))


@router.post("/units/import", response_model=None, responses=IMPORT_RESPONSES,
             openapi_extra=units_import_request_body())
async def import_units(request: Request, ctx: Context, _: Editor) -> dict[str, Any]:
    """Units from a CSV file (UTF-8, BOM tolerated) with the header id,name,kind,contact,supervising_unit_id.
    Each row is answered on its own: created, unchanged or rejected (with its errors; an id the directory holds no
    government or department of is rejected naming the column id)."""
    report = await units.import_units(ctx, await csv_body(request))
    return report.as_dict()


@router.get("/units")
async def list_units(
    ctx: Context, _: Anyone,
    kind: units.UnitKind | None = None,
    limit: Limit = 100,
    after: IdAfter = None,
) -> Page[units.UnitView]:
    """Units by id, each with the place its organisation serves in the directory (null for a unit the directory
    does not hold)."""
    return await units.list_units(ctx, kind=kind, limit=limit, after=after)


@router.get("/units/{unit_id:inspection_unit_id}")
async def get_unit(unit_id: str, ctx: Context, _: Anyone) -> units.UnitView:
    return await units.get_unit(ctx, unit_id)
