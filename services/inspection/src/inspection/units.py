"""Responsible units (责任单位): townships/streets (镇街) and departments (部门), one at a time or from CSV.

A new unit is an organisation of the directory (docs/directory.md): its id names a township's government (kind
township) or a department (kind department) by code or by unique current name, and the unit is kept under the code;
anything else is a 422 naming the id (a CSV row: rejected naming the column). Its place is the place that
organisation serves, read from inspection's copy of the directory whenever a unit is answered. Units registered
before this rule stay as they were (registering one again identically is still harmless); the directory not holding
them, they are answered with no place.

Registering the same unit again is harmless; the same id with other content is a conflict. A CSV import
answers row by row (a bad row never sinks the file) and a row may name as its supervising unit a unit
defined on an earlier row of the same file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, TypeAlias

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from inspection.context import InspectionContext
from inspection.domain.schema import stripped_identifier
from inspection.store import units as store
from inspection.store.units import UnitRow, UnitView
from pingan_shared.csv_rows import CsvRefused, CsvRows, read_csv_rows
from pingan_shared.directory.doors import entry_named
from pingan_shared.events.directory_contracts import KIND_NAMES, EntryKind
from pingan_shared.http.paging import Page, page_of
from pingan_shared.imports import ImportReport, rejected, validation_errors
from pingan_shared.inputs import free_text, non_blank
from pingan_shared.refused import Conflict, Invalid, NotFound, Refused
from pingan_shared.text import echoable


class UnitKind(StrEnum):
    TOWNSHIP = "township"
    DEPARTMENT = "department"


# The directory's organisation a unit of each kind is: a township's (镇街) government, or a department.
DIRECTORY_KINDS = {UnitKind.TOWNSHIP: EntryKind.GOVERNMENT, UnitKind.DEPARTMENT: EntryKind.DEPARTMENT}
UNIT_ORGANISATIONS = frozenset(DIRECTORY_KINDS.values())


# /v1/units/import is the CSV import, so no unit may be called "import": GET /v1/units/import could not read it.
RESERVED_ID = "import"

UnitId: TypeAlias = stripped_identifier(64)  # type: ignore[valid-type]
UnitRef: TypeAlias = non_blank(64)  # type: ignore[valid-type]
UnitName: TypeAlias = non_blank(200)  # type: ignore[valid-type]
Contact: TypeAlias = free_text(200)  # type: ignore[valid-type]


class UnitIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    # The schema states the id as sent: stripped, it is a shared id (``pingan_shared.inputs.ID_PATTERN``) and not
    # the reserved "import".
    id: UnitId = Field(description=f'not "{RESERVED_ID}" (the path /v1/units/{RESERVED_ID} is the CSV import)',
                       json_schema_extra={"pattern": rf"^\s*(?!{RESERVED_ID}\s*$)[^/?#\s\x00]+\s*$"})
    name: UnitName = Field(description="e.g. 安阳街道, 市应急管理局")
    kind: UnitKind
    contact: Contact = Field(default="", description="contact person and phone")
    supervising_unit_id: UnitRef | None = None

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == RESERVED_ID:
            raise ValueError(f'"{RESERVED_ID}" is reserved (the path /v1/units/{RESERVED_ID} is the CSV import)')
        return value


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    UNKNOWN_SUPERVISOR = "unknown_supervisor"


@dataclass(frozen=True)
class Registered:
    outcome: Outcome
    unit: UnitIn  # as kept: its id the directory's code


def _same(row: UnitRow, unit: UnitIn) -> bool:
    return UnitIn(**asdict(row)) == unit


async def in_directory(conn: asyncpg.Connection, unit: UnitIn, *, prefix: str) -> UnitIn:
    """``unit`` with its id the code of the directory's organisation it names; ``Refused`` (422, the field named
    ``prefix`` + id or kind) when the directory holds no such government or department, or holds it as the other
    kind of unit."""
    entry = await entry_named(conn, unit.id, field=f"{prefix}id", kinds=UNIT_ORGANISATIONS)
    wanted = DIRECTORY_KINDS[unit.kind]
    if entry.kind is not wanted:
        other = next(k for k, v in DIRECTORY_KINDS.items() if v is entry.kind)
        raise Invalid(f"“{entry.name}”（{entry.code}）在目录中是{KIND_NAMES[entry.kind]}，不是{KIND_NAMES[wanted]} "
                      f"({entry.code} is a {entry.kind.value} in the directory: its kind is {other.value})",
                      field=f"{prefix}kind")
    return unit if entry.code == unit.id else unit.model_copy(update={"id": entry.code})


async def register(conn: asyncpg.Connection, unit: UnitIn, *, prefix: str = "body.") -> Registered:
    """Insert ``unit`` unless its id is taken; says what happened. Call inside a transaction. A unit already kept
    under the id as sent is answered as before (one from before the directory rule keeps working); a new one must
    be an organisation of the directory (``in_directory``, which raises)."""
    existing = await store.get(conn, unit.id)
    if existing is None:
        unit = await in_directory(conn, unit, prefix=prefix)
        existing = await store.get(conn, unit.id)  # named by its organisation's name: kept under the code
    if existing is not None:
        return Registered(Outcome.UNCHANGED if _same(existing, unit) else Outcome.CONFLICT, unit)
    supervisor = unit.supervising_unit_id
    if supervisor is not None and (supervisor == unit.id or await store.get(conn, supervisor) is None):
        return Registered(Outcome.UNKNOWN_SUPERVISOR, unit)
    if await store.insert(conn, **unit.model_dump()):
        return Registered(Outcome.CREATED, unit)
    existing = await store.get(conn, unit.id)  # registered by someone else in between
    same = existing is not None and _same(existing, unit)
    return Registered(Outcome.UNCHANGED if same else Outcome.CONFLICT, unit)


async def register_unit(ctx: InspectionContext, unit: UnitIn) -> tuple[Outcome, UnitView]:
    """Register one unit (its own transaction): created or unchanged, and the unit as answered; else refused."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        registered = await register(conn, unit)
        answer = await store.view(conn, registered.unit.id)
    if registered.outcome is Outcome.CONFLICT:
        raise Conflict("该编号已用于内容不同的单位 (a different unit already has this id)", field="id")
    if registered.outcome is Outcome.UNKNOWN_SUPERVISOR:
        raise Invalid("主管单位不存在 (no such supervising unit)", field="supervising_unit_id")
    assert answer is not None
    return registered.outcome, answer


async def list_units(ctx: InspectionContext, *, kind: UnitKind | None, limit: int,
                     after: str | None) -> Page[UnitView]:
    async with ctx.runtime.connection() as conn:
        rows = await store.page(conn, kind=kind.value if kind else None, limit=limit, after=after)
    return page_of(rows, limit, lambda r: r.id)


async def get_unit(ctx: InspectionContext, unit_id: str) -> UnitView:
    async with ctx.runtime.connection() as conn:
        row = await store.view(conn, unit_id)
    if row is None:
        raise NotFound("单位不存在 (no such unit)", field="unit_id")
    return row


class NotCsv(Refused):
    """The body is not a CSV file with the expected header (400, the body at fault)."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail, "(body)")


REQUIRED_COLUMNS = ("id", "name", "kind")
KNOWN_COLUMNS = ("id", "name", "kind", "contact", "supervising_unit_id")


def read_csv(raw: bytes, *, max_rows: int) -> CsvRows:
    """The rows of a UTF-8 CSV (BOM tolerated) whose header names the unit columns; NotCsv for any other body."""
    try:
        return read_csv_rows(raw, kinds={"units": REQUIRED_COLUMNS}, max_rows=max_rows, columns=KNOWN_COLUMNS)
    except CsvRefused as exc:
        raise NotCsv(str(exc)) from exc


async def import_units(ctx: InspectionContext, raw: bytes) -> ImportReport:
    """A CSV import in one transaction (``NotCsv`` for a body that is not one)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        return await import_csv(conn, raw, max_rows=ctx.settings.max_import_rows)


async def import_csv(conn: asyncpg.Connection, raw: bytes, *, max_rows: int) -> ImportReport:
    """Register each row in order; each row answered on its own. Call inside a transaction."""
    report = ImportReport()
    found = read_csv(raw, max_rows=max_rows)
    for line, row, cells in found.rows:
        unit_id = echoable(row.get("id", "").strip()) or None
        if cells > len(found.header):
            report.rows.append(_rejected(line, unit_id, [("(row)", "该行字段多于表头 (more fields than the header)")]))
            continue
        values: dict[str, Any] = {k: row.get(k, "") for k in KNOWN_COLUMNS}
        if not values["supervising_unit_id"].strip():
            values["supervising_unit_id"] = None
        try:
            unit = UnitIn.model_validate(values)
        except ValidationError as exc:
            report.rows.append(_rejected(line, unit_id, validation_errors(exc)))
            continue
        try:
            registered = await register(conn, unit, prefix="")  # a row's fields are named by their columns
        except Refused as refused:
            report.rows.append(_rejected(line, unit.id, [(refused.field or "id", refused.detail)]))
            continue
        outcome, unit = registered.outcome, registered.unit
        if outcome is Outcome.CONFLICT:
            report.rows.append(_rejected(line, unit.id, [("id", "该编号已用于内容不同的单位 (this id is taken by a "
                                                               "different unit)")]))
        elif outcome is Outcome.UNKNOWN_SUPERVISOR:
            report.rows.append(_rejected(line, unit.id, [("supervising_unit_id", "主管单位不存在 (no such unit, "
                                                                                "here or on an earlier row)")]))
        else:
            report.rows.append({"line": line, "id": unit.id, "status": outcome.value})
    return report


def _rejected(line: int, unit_id: str | None, errors: list[tuple[str, str]]) -> dict[str, Any]:
    return rejected({"line": line, "id": unit_id}, errors)
