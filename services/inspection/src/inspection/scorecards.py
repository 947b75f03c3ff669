"""The close (结束) of a cycle: its scorecard (考核) over its tasks as they stand, stored on the cycle;
``cycle-phase-changed``; and, when the cycle asks, its successor (same scope, lengths and basis, starting the
local day it closed; one successor per cycle, by the database's ``cycles_one_successor`` index).

Called by the ``cycle-phase`` timer with the cycle's row locked; it acts only on a cycle in rectification.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

import asyncpg

from inspection import cycles
from inspection.context import InspectionContext
from inspection.domain.cycles import CycleIn, next_start_date
from inspection.domain.scorecard import CSV_COLUMNS, TaskFact, scorecard
from inspection.store import cycles as cycle_store
from pingan_shared.events.catalog import CYCLE_PHASE_CHANGED
from pingan_shared.events.inspection_contracts import CyclePhaseChangedV1
from pingan_shared.logs import get_logger
from pingan_shared.messaging.outbox import enqueue

log = get_logger(__name__)
SYSTEM = "system"


async def facts(conn: asyncpg.Connection, cycle_id: str) -> list[TaskFact]:
    """The cycle's tasks as they stand, with the pair when their own finding named both units."""
    rows = await conn.fetch(
        """
        SELECT t.id, t.unit_id, t.finding_id, t.deadline, t.verified_at, t.rejections,
               f.township_unit_id, f.department_unit_id
        FROM tasks t LEFT JOIN findings f ON f.id = t.finding_id
        WHERE t.cycle_id = $1 AND t.origin = 'finding' AND t.unit_id IS NOT NULL
        ORDER BY t.id
        """,
        cycle_id,
    )
    return [TaskFact(
        task_id=r["id"], unit_id=r["unit_id"], finding_id=r["finding_id"],
        bundle=(r["township_unit_id"], r["department_unit_id"])
        if r["township_unit_id"] and r["department_unit_id"] else None,
        deadline=r["deadline"], verified_at=r["verified_at"], rejections=r["rejections"]) for r in rows]


async def close_cycle(conn: asyncpg.Connection, ctx: InspectionContext, cycle: asyncpg.Record, *,
                      now: datetime) -> dict[str, Any] | None:
    if cycle["phase"] != "rectification":
        return None
    unit_ids = await cycle_store.unit_ids(conn, cycle["id"])
    card = scorecard(unit_ids, await facts(conn, cycle["id"]))
    await conn.execute("UPDATE cycles SET phase = 'closed', closed_at = $2, scorecard = $3 WHERE id = $1",
                       cycle["id"], now, card)
    outgoing = [ctx.events.make(CYCLE_PHASE_CHANGED, CyclePhaseChangedV1(cycle_id=cycle["id"], phase="closed", at=now),
                                key=cycle["id"])]
    await enqueue(conn, outgoing)
    if cycle["auto_next"] and ctx.settings.auto_next_cycles:
        await _open_successor(conn, ctx, cycle, unit_ids, now=now)
    return card


async def _open_successor(conn: asyncpg.Connection, ctx: InspectionContext, cycle: asyncpg.Record,
                          unit_ids: list[str], *, now: datetime) -> None:
    if await conn.fetchval("SELECT 1 FROM cycles WHERE previous_cycle_id = $1", cycle["id"]):
        return
    base = cycles.successor_id(cycle["id"])
    for candidate in (base, f"{base}-{cycle['id'][:40]}-next"[:64]):
        successor = CycleIn(
            id=candidate, name=cycles.successor_name(cycle["name"]),
            start_date=next_start_date(cycle["closes_at"], ctx.zone), covert_days=cycle["covert_days"],
            rectification_days=cycle["rectification_days"], day_basis=cycle["day_basis"], unit_ids=unit_ids,
            auto_next=True,
        )
        try:
            async with conn.transaction():
                await cycles.open_cycle(conn, ctx, successor, actor=SYSTEM, now=now, previous_cycle_id=cycle["id"])
            return
        except cycles.CycleRefused as refused:
            if any(e["field"] == "id" for e in refused.errors):
                continue  # the id is another cycle's: try the fallback
            # A unit already scheduled elsewhere: the next cycle is someone's to open by hand.
            log.warning("next cycle not opened", cycle_id=cycle["id"], reason=refused.detail, errors=refused.errors)
            return


def to_csv(card: dict[str, Any]) -> bytes:
    """Units, then bundled pairs, with ``CSV_COLUMNS``; UTF-8 with a BOM so Excel reads Chinese."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in [*card["units"], *card["bundles"]]:
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell starting with = + - @ as a formula: unit ids come from people.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:64] or "cycle"
