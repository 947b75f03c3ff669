"""Scorecards (考核): the facts a cycle's scorecard counts (``domain.scorecard``) and its CSV export.

The facts are the cycle's findings, one per (finding, responsible unit), each with the task it lives in at the
close: its own, or the open task it merged into — an earlier cycle's, a patrol hazard's, or another finding's of
the same cycle. Revisits rejected in a task count once per task and row (``domain.scorecard``), and only those
since the finding joined it (an earlier cycle's rejections are that cycle's).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import asyncpg

from inspection.domain.scorecard import CSV_COLUMNS, CSV_HEADERS, TaskFact
from inspection.store import tasks as task_store


async def facts(conn: asyncpg.Connection, cycle_id: str) -> list[TaskFact]:
    found: list[TaskFact] = []
    for r in await task_store.scorecard_facts(conn, cycle_id):
        bundle = (r["township_unit_id"], r["department_unit_id"])
        found.append(TaskFact(
            task_id=r["task_id"], unit_id=r["unit_id"], finding_id=r["finding_id"],
            bundle=bundle if all(bundle) else None, deadline=r["deadline"], verified_at=r["verified_at"],
            rejections=r["rejections"]))
    return found


def to_csv(units: list[dict[str, Any]], bundles: list[dict[str, Any]]) -> bytes:
    """Units, then bundled pairs, with ``CSV_COLUMNS``; UTF-8 with a BOM so Excel reads Chinese."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"{CSV_HEADERS[c]} ({c})" for c in CSV_COLUMNS])
    for row in [*units, *bundles]:
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell starting with = + - @ as a formula: unit ids come from people.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:64] or "cycle"
