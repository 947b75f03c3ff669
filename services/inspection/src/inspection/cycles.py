"""Opening a 211 cycle: its schedule, its scope (refused, naming each clash, when a unit is already in an
overlapping cycle — the database's exclusion constraint is the backstop), ``cycle-opened`` and the durable
``cycle-phase`` timer that will release and close it. Reading cycles, and a closed cycle's scorecard (考核)
within the reader's reach (``inspection.reach``)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import asyncpg

from inspection import reach
from inspection.context import InspectionContext
from inspection.domain.calendar import DayBasis, WorkingCalendar
from inspection.domain.cycles import MAX_NAME, CycleIn, Phase, schedule
from inspection.store import calendar as calendar_store
from inspection.store import cycles as store
from inspection.store import units as unit_store
from inspection.store.cycles import Clash, CycleRow
from pingan_shared.auth import Principal
from pingan_shared.events.catalog import CYCLE_OPENED
from pingan_shared.events.inspection_contracts import CycleOpenedV1
from pingan_shared.http.paging import Page, page_of
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import Conflict, NotFound, Refused
from pingan_shared.timers import schedule as schedule_timer

CYCLE_PHASE = "cycle-phase"  # the timer kind (handled in inspection.timers)
NOT_FOUND = "周期不存在 (no such cycle)"


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"


class CycleRefused(Refused):
    """409 (conflict: id taken, clash) or 422 (unknown unit, schedule), with one reason per thing at fault in
    ``errors`` (each clash, each unknown unit); ``field`` is the first one's field."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]]) -> None:
        super().__init__(status, detail, errors=errors)


@dataclass(frozen=True)
class Opened:
    cycle: CycleRow
    outcome: Outcome


def fingerprint(cycle: CycleIn) -> str:
    content = cycle.model_dump(mode="json", exclude={"id"})
    content["unit_ids"] = sorted(content["unit_ids"])
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _clash_reason(clash: Clash, ctx: InspectionContext) -> str:
    first = clash.starts_at.astimezone(ctx.zone).date()
    last = (clash.closes_at - timedelta(microseconds=1)).astimezone(ctx.zone).date()
    return (f"{clash.unit_name}（{clash.unit_id}）已在周期 {clash.cycle_name}（{clash.cycle_id}，"
            f"{first.isoformat()}–{last.isoformat()}）中")


async def _refuse_clashes(conn: asyncpg.Connection, ctx: InspectionContext, unit_ids: list[str],
                          starts_at: datetime, closes_at: datetime) -> None:
    found = await store.clashes(conn, unit_ids, starts_at, closes_at)
    if found:
        raise CycleRefused(409, "范围内的单位已在时间重叠的周期中 (units already in an overlapping cycle)",
                           [{"field": "unit_ids", "reason": _clash_reason(c, ctx)} for c in found])


async def open_cycle(conn: asyncpg.Connection, ctx: InspectionContext, cycle: CycleIn, *, actor: str, now: datetime,
                     previous_cycle_id: str | None = None) -> Opened:
    """Open ``cycle`` (inside the caller's transaction) or say why not (``CycleRefused``).

    Cycles are opened one at a time per database (``store.lock_openings``). The exclusion constraint alone is not
    enough for two overlapping cycles opened at once: each inserts its index entry, then finds the other's
    uncommitted entry and waits for it, and PostgreSQL breaks the deadlock by failing one (a 503) instead of
    refusing it with a 409 naming the clashes. Opening a cycle is an organiser's act a few times a month, so one
    lock costs nothing."""
    cycle_id = cycle.id or f"C-{uuid.uuid4().hex[:12]}"
    digest = fingerprint(cycle)
    await store.lock_openings(conn)
    existing = await store.get(conn, cycle_id)
    if existing is not None:
        if existing.fingerprint == digest:
            return Opened(existing, Outcome.UNCHANGED)
        raise CycleRefused(409, "该编号已用于内容不同的周期 (a different cycle already has this id)",
                           [{"field": "id", "reason": "id taken by a different cycle"}])
    known = await unit_store.many(conn, cycle.unit_ids)
    unknown = [u for u in cycle.unit_ids if u not in known]
    if unknown:
        raise CycleRefused(422, "范围内有不存在的单位 (unknown units in scope)",
                           [{"field": "unit_ids", "reason": f"单位 {u} 不存在 (no such unit)"} for u in unknown])
    calendar = await calendar_store.working_calendar(conn)
    plan = schedule(cycle.start_date, cycle.covert_days, cycle.rectification_days, cycle.day_basis, ctx.zone,
                    calendar)
    if plan.covert_ends_at <= now:
        raise CycleRefused(422, "暗访阶段已过 (the covert phase would already be over)",
                           [{"field": "start_date", "reason": "the covert phase of this start date has ended"}])
    await _refuse_clashes(conn, ctx, list(cycle.unit_ids), plan.starts_at, plan.closes_at)
    inserted = await store.insert(
        conn, id=cycle_id, name=cycle.name, start_date=cycle.start_date, covert_days=cycle.covert_days,
        rectification_days=cycle.rectification_days, day_basis=cycle.day_basis.value, starts_at=plan.starts_at,
        covert_ends_at=plan.covert_ends_at, closes_at=plan.closes_at, auto_next=cycle.auto_next,
        previous_cycle_id=previous_cycle_id, opened_by=actor, fingerprint=digest, created_at=now,
    )
    if not inserted:  # opened concurrently (same id, or the predecessor's successor): the caller retries
        raise CycleRefused(409, "周期已被同时创建 (the cycle was opened concurrently; retry)",
                           [{"field": "id", "reason": "opened concurrently"}])
    try:
        async with conn.transaction():
            await store.add_units(conn, cycle_id, list(cycle.unit_ids), plan.starts_at, plan.closes_at)
    except asyncpg.ExclusionViolationError:  # a cycle committed since the check: name its units all the same
        await _refuse_clashes(conn, ctx, list(cycle.unit_ids), plan.starts_at, plan.closes_at)
        raise
    await schedule_timer(conn, CYCLE_PHASE, cycle_id, plan.covert_ends_at)
    topic, envelope = ctx.events.make(CYCLE_OPENED, CycleOpenedV1(
        cycle_id=cycle_id, name=cycle.name, start_date=cycle.start_date, starts_at=plan.starts_at,
        covert_ends_at=plan.covert_ends_at, closes_at=plan.closes_at, day_basis=cycle.day_basis.value,
        unit_count=len(cycle.unit_ids), provisional=close_provisional(calendar, plan.covert_ends_at,
                                                                      plan.closes_at, cycle.day_basis, ctx.zone)),
        key=cycle_id)
    await enqueue(conn, [(topic, envelope)])
    row = await store.get(conn, cycle_id)
    assert row is not None
    return Opened(row, Outcome.CREATED)


@dataclass(frozen=True)
class CycleView:
    cycle: CycleRow
    unit_ids: list[str]
    provisional: bool  # its close counted in working days through a year whose notice is not known yet


def close_provisional(calendar: WorkingCalendar, covert_ends_at: datetime, closes_at: datetime, basis: DayBasis,
                      zone: ZoneInfo) -> bool:
    """Whether a cycle's close was counted through a year the calendar does not know (its rectification days)."""
    return calendar.provisional(covert_ends_at.astimezone(zone).date(),
                                (closes_at - timedelta(microseconds=1)).astimezone(zone).date(), basis)


def view_of(row: CycleRow, unit_ids: list[str], calendar: WorkingCalendar, zone: ZoneInfo) -> CycleView:
    return CycleView(row, unit_ids, close_provisional(calendar, row.covert_ends_at, row.closes_at,
                                                      DayBasis(row.day_basis), zone))


async def open_by_request(ctx: InspectionContext, cycle: CycleIn, *, actor: str) -> tuple[Outcome, CycleView]:
    """An inspector's or admin's request to open ``cycle``, in its own transaction."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        opened = await open_cycle(conn, ctx, cycle, actor=actor, now=ctx.now())
        return opened.outcome, view_of(opened.cycle, await store.unit_ids(conn, opened.cycle.id),
                                       await calendar_store.working_calendar(conn), ctx.zone)


async def list_cycles(ctx: InspectionContext, *, phase: Phase | None, limit: int,
                      after: str | None) -> Page[CycleView]:
    async with ctx.runtime.connection() as conn:
        rows = await store.page(conn, phase=phase.value if phase else None, limit=limit, after=after)
        scopes = await store.units_of(conn, [r.id for r in rows])
        calendar = await calendar_store.working_calendar(conn)
    return page_of([view_of(r, scopes[r.id], calendar, ctx.zone) for r in rows], limit, lambda v: v.cycle.id)


async def get_cycle(ctx: InspectionContext, cycle_id: str) -> CycleView:
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, cycle_id)
        if row is None:
            raise NotFound(NOT_FOUND, field="cycle_id")
        return view_of(row, await store.unit_ids(conn, cycle_id), await calendar_store.working_calendar(conn),
                       ctx.zone)


@dataclass(frozen=True)
class Scorecard:
    cycle_id: str
    closed_at: datetime | None
    units: list[dict[str, object]]
    bundles: list[dict[str, object]]


async def scorecard_for(ctx: InspectionContext, cycle_id: str, principal: Principal) -> Scorecard:
    """The closed cycle's scorecard as ``principal`` may see it (``reach.scorecard``); 409 until it closes."""
    async with ctx.runtime.connection() as conn:
        stored = await store.scorecard(conn, cycle_id)
        seen = await reach.reach_of(conn, principal)
    if stored is None:
        raise NotFound(NOT_FOUND, field="cycle_id")
    if stored.phase != Phase.CLOSED or stored.scorecard is None:
        raise Conflict("周期尚未结束，暂无考核结果 (made when the cycle closes)", field="cycle_id")
    card = reach.scorecard(stored.scorecard, seen)
    return Scorecard(cycle_id, stored.closed_at, card["units"], card["bundles"])


def successor_name(name: str) -> str:
    """2026年第23期 → 2026年第24期; another name gets （续）. Never longer than a cycle's name may be: a name at
    the limit loses the end of what precedes the number (第99期 → 第100期 keeps its number and what follows)."""
    match = re.search(r"第(\d+)期", name)
    if match:
        number_on = f"第{int(match.group(1)) + 1}期{name[match.end():]}"
        return f"{name[:match.start()][:max(0, MAX_NAME - len(number_on))]}{number_on}"[:MAX_NAME]
    return f"{name}（续）"[:MAX_NAME]


def successor_id(cycle_id: str) -> str:
    """c-7 → c-8; another id gets -2 (a clash with an unrelated cycle is the caller's to handle)."""
    match = re.search(r"(\d+)$", cycle_id)
    if match:
        return f"{cycle_id[:match.start()]}{int(match.group(1)) + 1}"[:64]
    return f"{cycle_id[:62]}-2"
