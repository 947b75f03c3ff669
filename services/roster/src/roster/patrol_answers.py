"""What patrol answered for roster's patrol shifts (DESIGN.md §3, flow 7): ``patrol.shift-planned`` or
``patrol.shift-refused`` with the problems the organiser can fix (a route patrol does not know, a team the directory
does not hold, a clash with another plan).

A refusal shows on the shift (``patrol`` in its answers) and in the period's list of shifts not planned in patrol,
and arms a durable timer at the shift's start: if the refusal still stands then, an alert signal
(``roster.shift-not-planned``) goes to the organiser of the shift's township, once. Planned after all (the organiser
fixed the duty and published again) or cancelled by roster: the timer stops and an alert that went out resolves.
patrol numbers its answers per shift: a late or repeated one changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from pingan_shared.directory.doors import signal_place
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.patrol_contracts import ShiftPlannedV1, ShiftRefusedV1
from pingan_shared.messaging.ordering import highest_applied, should_apply
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.timers import Timer, cancel, schedule
from roster.context import RosterContext
from roster.store import shifts as store

NOT_PLANNED_CHECK = "roster.not-planned-check"
NOT_PLANNED_KIND = "roster.shift-not-planned"


def not_planned_key(shift_id: str) -> str:
    return f"roster:shift:{shift_id}:not-planned"


async def apply_answer(conn: asyncpg.Connection, ctx: RosterContext, envelope: Envelope, payload: BaseModel) -> None:
    assert isinstance(payload, ShiftRefusedV1 | ShiftPlannedV1)
    shift = await store.patrol_answer_for_update(conn, payload.shift_id)
    if shift is None or not should_apply(shift["patrol_sequence"], envelope):
        return  # not a shift of ours, or a late or repeated answer
    sequence = highest_applied(shift["patrol_sequence"], envelope)
    if isinstance(payload, ShiftRefusedV1):
        problems = [p.model_dump() for p in payload.problems]
        await store.record_patrol_answer(conn, payload.shift_id, status="refused", problems=problems,
                                         sequence=sequence, at=payload.at)
        if shift["not_planned_alerted_at"] is None:
            await schedule(conn, NOT_PLANNED_CHECK, payload.shift_id, shift["starts_at"])
        return
    await store.record_patrol_answer(conn, payload.shift_id, status="planned", problems=None, sequence=sequence,
                                     at=payload.at)
    await _answered(conn, ctx, [shift], reason="巡逻服务已排定 (patrol planned the shift)")


async def on_not_planned_check(ctx: RosterContext, conn: asyncpg.Connection, timer: Timer) -> None:
    """At the shift's start: a refusal that still stands on a published shift alerts its organiser, once."""
    shift = await store.patrol_answer_for_update(conn, timer.key)
    if (shift is None or shift["status"] != "published" or shift["patrol_status"] != "refused"
            or shift["not_planned_alerted_at"] is not None):
        return
    now = ctx.now()
    await store.set_not_planned_alerted(conn, timer.key, now)
    await enqueue(conn, [await _signal(conn, ctx, shift, SignalAction.TRIGGER, now)])


async def on_cancelled(conn: asyncpg.Connection, ctx: RosterContext, shift_ids: Sequence[str]) -> None:
    """Shifts roster cancelled: nothing is left to plan, so their not-planned checks stop and alerts resolve."""
    for shift_id in shift_ids:
        await cancel(conn, NOT_PLANNED_CHECK, shift_id)
    await _answered(conn, ctx, await store.alerted_not_planned(conn, list(shift_ids)),
                    reason="班次已取消 (the shift was cancelled)")


async def _answered(conn: asyncpg.Connection, ctx: RosterContext, shifts: Sequence[Mapping[str, Any]], *,
                    reason: str) -> None:
    now = ctx.now()
    for shift in shifts:
        await cancel(conn, NOT_PLANNED_CHECK, shift["shift_id"])
        if shift["not_planned_alerted_at"] is not None:
            await store.set_not_planned_alerted(conn, shift["shift_id"], None)
            await enqueue(conn, [await _signal(conn, ctx, shift, SignalAction.RESOLVE, now, note=reason)])


async def _signal(conn: asyncpg.Connection, ctx: RosterContext, shift: Mapping[str, Any], action: SignalAction,
                  at: datetime, *, note: str | None = None) -> tuple[str, Envelope]:
    problems = shift["patrol_problems"] or []
    why = note or "；".join(str(p.get("reason", "")) for p in problems) or "巡逻服务未排定"
    when = shift["starts_at"].astimezone(ctx.zone)
    payload = AlertSignalV1(
        action=action, dedup_key=not_planned_key(shift["shift_id"]), kind=NOT_PLANNED_KIND,
        severity=Severity.HIGH, area=str(shift["area"])[:200] if shift["area"] else None,
        **(await signal_place(conn, area=shift["area"])).fields(),
        summary=f"排班未落实到巡逻：{shift['title']}（{when:%m-%d %H:%M} 起）— {why}"[:500],
        source=SourceLink(service="roster", entity_type="shift", entity_id=shift["shift_id"]), occurred_at=at)
    return ctx.events.make(ALERT_SIGNAL, payload, key=payload.dedup_key)


async def not_planned(conn: asyncpg.Connection, period_id: str) -> list[dict[str, Any]]:
    """The period's published shifts patrol refused, with why: what the organiser still has to fix."""
    return [{"shift_id": r["shift_id"], "title": r["title"], "starts_at": r["starts_at"], "route_id": r["route_id"],
             "team_id": r["team_id"], "problems": r["patrol_problems"]}
            for r in await store.refused_in_period(conn, period_id)]
