"""What inspection's API documents beyond its routes' signatures: the CSV import's body and the answers only a
route knows (a repeat's 200, a clash's 409, a 404 for an id in the body).

``POST /v1/units/import`` reads its raw body (a CSV file, answered row by row), so its request body is
described here, for the OpenAPI only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel

from inspection import units
from pingan_shared.http.body import CSV_TYPES
from pingan_shared.http.openapi import FieldError, error_response
from pingan_shared.text import StorableStr

# The ``after`` of a list in id order whose ids are at most 64 characters (units, cycles, findings, notices): the
# shared ``pingan_shared.http.paging.After`` with the limit these lists have always documented (64, not 200).
IdAfter = Annotated[StorableStr | None, Query(max_length=64, description="next_after of the previous page")]

# What the import refuses as a whole (400) is a body without a header naming the unit columns, or holding a NUL;
# the schema states it as the canonical header (BOM tolerated) on the first line and no NUL anywhere. Any row
# after it is answered on its own, however wrong.
_CSV_HEADER = ",".join(units.KNOWN_COLUMNS)
_CSV_SCHEMA = {
    "type": "string",
    "pattern": rf"^\ufeff?{','.join(units.REQUIRED_COLUMNS)}(,[^\r\n\x00]*)?(\r\n|\r|\n|$)[^\x00]*$",
    "description": f"UTF-8 CSV (BOM tolerated) whose first line is the header {_CSV_HEADER} (contact and "
                   "supervising_unit_id may be left out); a row may name as its supervising unit one defined on an "
                   "earlier row. At most INSPECTION_MAX_IMPORT_ROWS rows.",
}
_CSV_EXAMPLE = f"{_CSV_HEADER}\nU-AY,安阳街道,township,张三 13800000000,\n"


def units_import_request_body() -> dict[str, Any]:
    """``openapi_extra`` of POST /v1/units/import: the CSV file, under each media type the import takes (the
    example under text/csv only: a client such as schemathesis has no encoder for the application/ aliases)."""
    content: dict[str, Any] = {media: {"schema": _CSV_SCHEMA} for media in CSV_TYPES}
    content["text/csv"]["example"] = _CSV_EXAMPLE
    return {"requestBody": {"required": True, "content": content}}


class ImportedRow(BaseModel):
    line: int
    id: str | None
    status: Literal["created", "unchanged", "rejected"]
    errors: list[FieldError] | None = None


class ImportReport(BaseModel):
    """The answer to an import: a count per outcome and one result per data row, in order."""

    created: int
    unchanged: int
    rejected: int
    rows: list[ImportedRow]


UNIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": units.UnitView, "description": "The same unit was registered before: nothing changed."},
    201: {"model": units.UnitView, "description": "Registered, with the place its organisation serves."},
    409: error_response(409, "A different unit already has this id."),
    422: error_response(422, "The id names no township government or department of the directory (body.id), it is "
                             "the other kind there (body.kind), or the supervising unit is not registered."),
}

IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ImportReport, "description": "Each row answered on its own: created, unchanged or rejected."},
    400: error_response(400, "Not a CSV file: another Content-Type, not UTF-8, a NUL byte, no header naming id, "
                             "name and kind, a field over the csv module's limit, or more rows than "
                             "INSPECTION_MAX_IMPORT_ROWS."),
}

CYCLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same cycle (same id, same request) was opened before: nothing changed."},
    201: {"description": "Opened."},
    409: error_response(409, "A different cycle already has this id, or a unit in scope is already in an "
                             "overlapping cycle (each clash named)."),
}

SCORECARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The scorecard: JSON, or CSV with ?format=csv.",
          "content": {"application/json": {"schema": {"type": "object"}},
                      "text/csv": {"schema": {"type": "string"}}}},
    409: error_response(409, "The cycle has not closed yet: its scorecard is made when it closes."),
}

FINDING_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same finding (same recorder, same key, same content) was recorded before."},
    201: {"description": "Recorded, sealed until the cycle's release. A supervision-group member's key that another "
                         "recorder used is a new finding too: keys are per recorder."},
    404: error_response(404, "No such cycle (cycle_id)."),
    409: error_response(409, "The recorder's own key with other content, an inspector's or admin's id another "
                             "inspector or admin took, or the cycle's covert phase has not started or is over."),
}

TASK_STEP_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: error_response(409, "The task's state does not allow this now (e.g. nothing submitted to revisit, "
                             "already verified, not in triage)."),
}

# A listing of units' work (tasks, notices) read by a scoped supervisor: inspection.reach.
SCOPED_LISTING_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: error_response(403, "The token's role may not read this (allowed: unit, supervisor, inspector, admin), or "
                             "a supervisor with a scope named a unit_id outside it (whether that unit exists or not)."),
}
