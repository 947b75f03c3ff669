"""/v1/directory: the city's places and organisations (roster owns the directory, DESIGN.md §3). Organisers and admins
define entries, one by one or from a CSV file; everyone signed in reads them, on every service
(``pingan_shared.http.directory``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from pingan_shared.http.body import csv_body, csv_request_body
from pingan_shared.http.openapi import error_responses
from pingan_shared.inputs import ID_PATTERN
from pingan_shared.refused import Conflict
from roster import directory
from roster.api.deps import Organiser
from roster.context import Context
from roster.domain.directory import DIRECTORY_CSV_COLUMNS, EntryIn

router = APIRouter(prefix="/v1/directory", tags=["directory"])
Code = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
_CSV_HEADER = ",".join(DIRECTORY_CSV_COLUMNS)


@router.post("/imports", response_model=None, responses=error_responses(400), openapi_extra=csv_request_body(
    "code,kind,name,parent", f"UTF-8 CSV with the header {_CSV_HEADER} (latitude onwards optional)"))
async def import_directory(request: Request, ctx: Context, _: Organiser) -> dict[str, Any]:
    """Places and organisations from a CSV file, each row answered on its own: created, updated, unchanged, or
    rejected with its errors (a parent must be a place of a higher level, in the directory or in the file)."""
    raw = await csv_body(request)
    async with ctx.runtime.connection() as conn, conn.transaction():
        report = await directory.import_entries(conn, ctx, raw, max_rows=ctx.settings.max_import_rows)
    return report.as_dict()


@router.put("/entries/{code}", status_code=201, response_model=None, responses={
    200: {"description": "The entry was updated, or was the same already."}, **error_responses(409)})
async def put_entry(code: Code, entry: EntryIn, ctx: Context, _: Organiser) -> JSONResponse:
    """Define one place or organisation (a parent is required below the city); 422 naming ``parent`` for one that
    is unknown or not a place of a higher level."""
    if entry.code != code:
        raise Conflict("路径与请求体的编码不一致 (code differs from the path)", "body.code")
    status = await directory.put_entry(ctx, entry)
    return JSONResponse(status_code=201 if status == "created" else 200,
                        content={**entry.entry().as_json(), "status": status})
