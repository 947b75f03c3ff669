"""The close (结束) of a cycle: its scorecard (考核, ``scorecards.facts``) stored on the cycle,
``cycle-phase-changed``; and, when the cycle asks, its successor (same scope, lengths and basis, starting the
local day it closed; one successor per cycle, by the database's ``cycles_one_successor`` index).

Called by the ``cycle-phase`` timer with the cycle's row locked; it acts only on a cycle in rectification.
Nothing about the successor can undo the close: it is opened in a savepoint, and when it cannot be (a unit
already in another cycle, a start no cycle may have, anything else) the close stands, the reason is logged and
kept on the cycle (``successor_note``). Only a lost race or a lost connection, which retry the whole firing,
pass through.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from inspection import cycles, scorecards
from inspection.context import InspectionContext
from inspection.domain.cycles import CycleIn, next_start_date
from inspection.domain.scorecard import scorecard
from inspection.store import cycles as cycle_store
from inspection.store.cycles import CycleRow
from pingan_shared.db.errors import CONNECTION_LOST, RETRY_TRANSACTION, DatabaseUnavailable
from pingan_shared.events.catalog import CYCLE_PHASE_CHANGED
from pingan_shared.events.inspection_contracts import CyclePhaseChangedV1
from pingan_shared.logs import get_logger
from pingan_shared.messaging.outbox import enqueue

log = get_logger(__name__)
SYSTEM = "system"


async def close_cycle(conn: asyncpg.Connection, ctx: InspectionContext, cycle: CycleRow, *,
                      now: datetime) -> dict[str, Any] | None:
    if cycle.phase != "rectification":
        return None
    unit_ids = await cycle_store.unit_ids(conn, cycle.id)
    card = scorecard(unit_ids, await scorecards.facts(conn, cycle.id))
    await cycle_store.mark_closed(conn, cycle.id, now, card)
    await enqueue(conn, [ctx.events.make(
        CYCLE_PHASE_CHANGED, CyclePhaseChangedV1(cycle_id=cycle.id, phase="closed", at=now), key=cycle.id)])
    if cycle.auto_next and ctx.settings.auto_next_cycles:
        why_not = await _open_successor(conn, ctx, cycle, unit_ids, now=now)
        if why_not is not None:
            log.warning("next cycle not opened", cycle_id=cycle.id, reason=why_not)
            await cycle_store.note_no_successor(conn, cycle.id, why_not)
    return card


async def _open_successor(conn: asyncpg.Connection, ctx: InspectionContext, cycle: CycleRow,
                          unit_ids: list[str], *, now: datetime) -> str | None:
    """Open the successor; None when it is open (now or before), else why it is not."""
    if await cycle_store.has_successor(conn, cycle.id):
        return None
    start_date = next_start_date(cycle.closes_at, ctx.zone)
    base = cycles.successor_id(cycle.id)
    why = ""
    for candidate in (base, f"{base}-{cycle.id[:40]}-next"[:64]):
        try:
            async with conn.transaction():
                successor = CycleIn(
                    id=candidate, name=cycles.successor_name(cycle.name), start_date=start_date,
                    covert_days=cycle.covert_days, rectification_days=cycle.rectification_days,
                    day_basis=cycle.day_basis, unit_ids=unit_ids, auto_next=True,
                )
                await cycles.open_cycle(conn, ctx, successor, actor=SYSTEM, now=now, previous_cycle_id=cycle.id)
            return None
        except cycles.CycleRefused as refused:
            why = "; ".join([refused.detail, *(e["reason"] for e in refused.errors)])
            if any(e["field"] == "id" for e in refused.errors):
                continue  # the id is another cycle's: try the fallback
            break  # a unit already scheduled elsewhere: the next cycle is someone's to open by hand
        except (*RETRY_TRANSACTION, *CONNECTION_LOST, DatabaseUnavailable):
            raise  # the firing is retried as a whole
        except Exception as exc:  # whatever it is, the close stands
            why = repr(exc)
            break
    return f"下一期（{candidate}，{start_date.isoformat()} 起）未能开启 (the next cycle was not opened): {why}"
