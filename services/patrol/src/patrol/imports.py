"""Bulk import of checkpoints and routes, from JSON (``{"checkpoints": [...], "routes": [...]}``) or CSV (the
header says which: ``id,tag,name,…`` for checkpoints, ``id,name,checkpoint_ids,…`` for routes, the ids of a
route separated by ``|``). One transaction; each row answered on its own (created, updated, unchanged or
rejected with its errors) — a bad row never sinks the others, each runs in its own savepoint. Checkpoints go
first, so a route may name checkpoints of the same document. An ``area`` is a directory place's code or unique name
and stored as the code; one the directory does not hold rejects its row, naming the column ``area``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from patrol import routes
from patrol.checkpoints import CheckpointConflict, register_checkpoint
from patrol.context import PatrolContext
from patrol.domain.checkpoints import CheckpointRow
from patrol.domain.routes import NewRouteIn, RouteIn
from pingan_shared.csv_rows import CsvRefused, read_csv_rows
from pingan_shared.imports import ImportReport as SharedImportReport
from pingan_shared.imports import rejected, validation_errors
from pingan_shared.refused import Refused

CHECKPOINT_COLUMNS = ("id", "tag", "name")
ROUTE_COLUMNS = ("id", "name", "checkpoint_ids")
_NUMBERS = ("latitude", "longitude", "radius_m")
_TRUE = {"true", "1", "yes", "y", "是", "有序"}
_FALSE = {"false", "0", "no", "n", "否", "无序", ""}


class NotImportable(Refused):
    """The document as a whole cannot be read (not JSON or CSV of a known header: 400), or holds too many rows
    (``too_large``: 413)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(413 if too_large else 400, message, "(body)")
        self.too_large = too_large


@dataclass
class ImportReport(SharedImportReport):
    statuses = ("created", "updated", "unchanged", "rejected")

    def errors(self) -> list[dict[str, str]]:
        """Every rejected row's errors, each field prefixed with where the row is (``checkpoints[2].latitude``,
        ``line 4: latitude``)."""
        return [{"field": f"{r['where']}.{e['field']}" if r["where"][0] != "l" else f"{r['where']}: {e['field']}",
                 "reason": e["reason"]} for r in self.rows if r["status"] == "rejected" for e in r["errors"]]


def read_json(document: Any, *, max_rows: int) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(where, row) lists of checkpoints and routes from a JSON document."""
    if not isinstance(document, dict) or not set(document) <= {"checkpoints", "routes"}:
        raise NotImportable('expected {"checkpoints": [...], "routes": [...]} (either may be left out)')
    found: dict[str, list[tuple[str, Any]]] = {}
    for kind in ("checkpoints", "routes"):
        items = document.get(kind, [])
        if not isinstance(items, list):
            raise NotImportable(f"{kind} must be a list")
        found[kind] = [(f"{kind}[{i}]", item) for i, item in enumerate(items)]
    if len(found["checkpoints"]) + len(found["routes"]) > max_rows:
        raise NotImportable(f"at most {max_rows} rows per import", too_large=True)
    return found["checkpoints"], found["routes"]


def read_csv(raw: bytes, *, max_rows: int) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(where, row) lists of checkpoints and routes from a CSV file: its header says which it holds."""
    try:
        found = read_csv_rows(raw, kinds={"routes": ROUTE_COLUMNS, "checkpoints": CHECKPOINT_COLUMNS},
                              max_rows=max_rows)
    except CsvRefused as exc:
        if exc.reason == "header":
            raise NotImportable("CSV 表头须为检查点 (id,tag,name,…) 或路线 (id,name,checkpoint_ids,…)") from exc
        raise NotImportable(str(exc), too_large=exc.reason == "too-many-rows") from exc
    width = len(found.header)
    rows: list[tuple[str, Any]] = [
        (f"line {line}", _from_csv(found.kind, values) if cells == width else _Malformed(
            f"该行有 {cells} 个字段，表头有 {width} 个 ({cells} fields, the header has {width})"))
        for line, values, cells in found.rows]
    return (rows, []) if found.kind == "checkpoints" else ([], rows)


@dataclass(frozen=True)
class _Malformed:
    reason: str


def _from_csv(kind: str, row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v.strip() for k, v in row.items() if v.strip() != ""}
    if kind == "checkpoints":
        for name in _NUMBERS:
            if name in out:
                with contextlib.suppress(ValueError):  # left as text: the model names the field
                    out[name] = float(out[name])
        return out
    if "checkpoint_ids" in out:
        out["checkpoint_ids"] = [c.strip() for c in out["checkpoint_ids"].split("|") if c.strip()]
    ordered = row.get("ordered", "").strip().lower()
    if ordered in _TRUE:
        out["ordered"] = True
    elif ordered in _FALSE:
        out.pop("ordered", None)
    return out


def _rejected(where: str, row_id: Any, errors: list[tuple[str, str]]) -> dict[str, Any]:
    return rejected({"where": where, "id": row_id if isinstance(row_id, str) else None}, errors)


async def _import_checkpoint(conn: asyncpg.Connection, where: str, item: Any) -> dict[str, Any]:
    row_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(item, _Malformed):
        return _rejected(where, None, [("(row)", item.reason)])
    try:
        checkpoint = CheckpointRow.model_validate(item)
    except ValidationError as exc:
        return _rejected(where, row_id, validation_errors(exc))
    try:
        registered = await register_checkpoint(conn, checkpoint, area_field="area")
    except CheckpointConflict as clash:
        name = clash.field or "id"
        return _rejected(where, checkpoint.id, [(name, f"该{name}已用于内容不同的检查点 (a different checkpoint "
                                                       f"already has this {name})")])
    except Refused as refused:  # an area the directory holds no place of
        return _rejected(where, checkpoint.id, [(refused.field or "area", refused.detail)])
    return {"where": where, "id": checkpoint.id, "status": "created" if registered.created else "unchanged"}


async def _import_route(conn: asyncpg.Connection, ctx: PatrolContext, where: str, item: Any) -> dict[str, Any]:
    row_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(item, _Malformed):
        return _rejected(where, None, [("(row)", item.reason)])
    try:
        route = NewRouteIn.model_validate(item)
    except ValidationError as exc:
        return _rejected(where, row_id, validation_errors(exc))
    try:
        saved = await routes.save_route(conn, ctx, route.id, RouteIn(**route.model_dump(exclude={"id"})),
                                        area_field="area")
    except Refused as refused:  # an unknown checkpoint or area
        return _rejected(where, route.id, [(refused.field or "(row)", refused.detail)])
    status = {routes.Outcome.CREATED: "created", routes.Outcome.NEW_VERSION: "updated",
              routes.Outcome.UNCHANGED: "unchanged"}[saved.outcome]
    return {"where": where, "id": route.id, "status": status, "version": saved.route.version}


async def import_rows(
    conn: asyncpg.Connection, ctx: PatrolContext, checkpoints: list[tuple[str, Any]], route_rows: list[tuple[str, Any]]
) -> ImportReport:
    """Each row in its own savepoint of the caller's transaction; checkpoints before routes."""
    report = ImportReport()
    for where, item in checkpoints:
        async with conn.transaction():
            report.rows.append(await _import_checkpoint(conn, where, item))
    for where, item in route_rows:
        async with conn.transaction():
            report.rows.append(await _import_route(conn, ctx, where, item))
    return report


class ImportDocument(BaseModel):
    """The JSON form of an import (documented in the OpenAPI; the route reads the raw body)."""

    model_config = ConfigDict(extra="forbid")

    checkpoints: list[CheckpointRow] = Field(default_factory=list)
    routes: list[NewRouteIn] = Field(default_factory=list)
