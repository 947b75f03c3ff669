"""/v1/import: checkpoints and routes in bulk (organisers, admins), JSON or CSV, each row answered on its own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from patrol import imports
from patrol.context import Context
from pingan_shared.auth import Principal, Role
from pingan_shared.http.body import CSV_TYPES, media_type, parse_json_body
from pingan_shared.http.openapi import ErrorBody, FieldError, error_response
from pingan_shared.http.security import require_roles

router = APIRouter(prefix="/v1", tags=["import"])
Editor = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))]


class ImportedRow(BaseModel):
    where: str
    id: str | None
    status: str
    version: int | None = None
    errors: list[FieldError] | None = None


class ImportReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[ImportedRow]


class ImportErrorReport(ErrorBody, ImportReport):
    """Some rows rejected: the error shape (each field prefixed by its row) and the per-row report together."""


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ImportReport, "description": "Every row created, updated (a new route version) or unchanged."},
    400: error_response(400, "Not JSON, or a CSV that is not UTF-8, holds NUL bytes or whose header names neither "
                             "checkpoints (id,tag,name,…) nor routes (id,name,checkpoint_ids,…)."),
    413: error_response(413, "More rows than PATROL_MAX_IMPORT_ROWS, or a body over the byte limit."),
    422: error_response(422, "Some rows were rejected (the others were imported): each error names its row and field.",
                        model=ImportErrorReport),
}


# The CSV's header as documented (the import also takes its columns in another order): checkpoints start
# id,tag,name and routes id,name,checkpoint_ids; UTF-8 text without NUL.
_CSV_SCHEMA = {
    "type": "string",
    "pattern": r"^\ufeff?id,(tag,name|name,checkpoint_ids)(,[^\r\n\x00]*)?(\r\n|\r|\n|$)[^\x00]*$",
    "description": "UTF-8 CSV; first line the header: id,tag,name[,latitude,longitude,radius_m,area,…] for "
                   "checkpoints or id,name,checkpoint_ids[,area,ordered] for routes (ids separated by |)",
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``#/$defs/…`` reference replaced by its definition (an OpenAPI document resolves
    references from its root, where these definitions are not)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _request_body() -> dict[str, Any]:
    """The JSON form's schema (definitions inlined) and the CSV form as text."""
    schema = imports.ImportDocument.model_json_schema()
    defs = schema.pop("$defs", {})
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": _inline(schema, defs)},
        "text/csv": {"schema": _CSV_SCHEMA, "example": "id,tag,name,area\nCP-1,nfc-1,罗凤街口,塘下镇\n"},
    }}}


@router.post("/import", response_model=None, responses=RESPONSES, openapi_extra=_request_body())
async def import_document(request: Request, ctx: Context, _: Editor) -> JSONResponse:
    """Checkpoints and routes from ``{"checkpoints": [...], "routes": [...]}`` or a CSV file whose header says which
    (routes list their checkpoint ids separated by ``|``). A route already there with other content gets a new
    version. Answers 200 when every row went in, else 422 with each rejected row's errors (the good rows are in)."""
    raw = await request.body()
    max_rows = ctx.settings.max_import_rows
    if media_type(request) in CSV_TYPES:
        checkpoints, routes = imports.read_csv(raw, max_rows=max_rows)
    else:
        checkpoints, routes = imports.read_json(parse_json_body(raw), max_rows=max_rows)
    async with ctx.runtime.connection() as conn, conn.transaction():
        report = await imports.import_rows(conn, ctx, checkpoints, routes)
    body = report.as_dict()
    rejected = body["rejected"]
    if rejected:
        return JSONResponse(status_code=422, content={
            "detail": f"{rejected} 行未导入 ({rejected} of {len(report.rows)} rows rejected)",
            "errors": report.errors(), **body})
    return JSONResponse(status_code=200, content=body)
