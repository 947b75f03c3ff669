"""Rounds (轮次): materialised from plans, scans attached, judged at their deadlines. One transaction each,
round state and outbox together.

- ``materialise``: the plan's slots within the horizon become pending rounds (idempotent: a round's id is its
  plan and start), each with its two durable timers: start-due and close.
- ``retire_future``: a cancelled or changed plan's rounds not yet judged and never started are cancelled
  (an open not-started alert is resolved).
- ``judge``: a round at its start-due and close deadlines (``timers``).
- ``attach_scans``: the inbox consumer of ``patrol.scan-accepted`` (group ``patrol.scans``) puts each scan in
  its round by team, checkpoint and device time — never the HTTP intake, which stays as fast as it was.
- ``list_rounds`` and ``round_detail``: the read side of ``GET /v1/rounds``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from patrol.context import PatrolContext
from patrol.domain import rounds as domain
from patrol.domain.plans import Plan
from patrol.domain.rounds import Candidate, Effect, RoundEffect, RoundState, ScanFact
from patrol.domain.routes import RouteVersion
from patrol.round_events import round_envelopes
from patrol.store import rounds as store
from patrol.store import routes as store_routes
from patrol.store.rounds import ListedRound, RoundCheckpointRow, RoundRow, RoundScanRow
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import NotFound
from pingan_shared.timers import cancel as cancel_timer
from pingan_shared.timers import schedule_many

ROUND_START_DUE = "patrol-round-start-due"
ROUND_CLOSE = "patrol-round-close"
ROUNDS_TOPUP = "patrol-rounds-topup"
TOPUP_KEY = "horizon"


def horizon(ctx: PatrolContext, now: datetime) -> datetime:
    return now + timedelta(hours=ctx.settings.round_horizon_hours)


async def materialise(
    conn: asyncpg.Connection, ctx: PatrolContext, plan: Plan, *, now: datetime, route: RouteVersion | None = None
) -> int:
    """Pending rounds for the plan's slots that close after ``now`` and start within the horizon."""
    route = route or await store_routes.current(conn, plan.route_id)
    assert route is not None, "a plan's route exists (foreign key)"
    slots = plan.slots_between(now, horizon(ctx, now))
    rows: list[dict[str, Any]] = []
    for slot in slots:
        rows.append({
            "id": slot.round_id(plan.id), "plan_id": plan.id, "shift_id": plan.shift_id, "team_id": plan.team_id,
            "route_id": route.route_id, "route_version": route.version, "area": route.area,
            "ordered": route.ordered, "night": slot.night, "starts_at": slot.starts_at, "ends_at": slot.ends_at,
            "start_due_at": slot.start_due_at, "closes_at": slot.closes_at, "state": RoundState.PENDING.value,
            "updated_at": now,
        })
    fresh = await store.insert_rounds(conn, rows, {r["id"]: route.checkpoint_ids for r in rows})
    by_id = {r["id"]: r for r in rows}
    await schedule_many(conn, [
        *((ROUND_START_DUE, i, by_id[i]["start_due_at"], None) for i in fresh),
        *((ROUND_CLOSE, i, by_id[i]["closes_at"], None) for i in fresh),
    ])
    return len(fresh)


async def retire_future(
    conn: asyncpg.Connection, ctx: PatrolContext, plan_id: str, *, now: datetime, keep: Sequence[str] = ()
) -> int:
    """Cancel the plan's rounds that are still pending and not yet judged, except ``keep`` (a changed plan's
    slots that stay). A round a team has started is theirs: it is judged as it is."""
    found = await store.lock_pending_of_plan(conn, plan_id, keep=keep)
    for row, round_ in found:
        effects = []
        if round_.not_started_raised:
            round_.not_started_raised = False
            effects.append(RoundEffect(Effect.NOT_STARTED_RESOLVED))
        round_.state = RoundState.CANCELLED
        await enqueue(conn, await round_envelopes(conn, ctx.events, ctx.zone, row, round_, effects, now=now))
        await cancel_timer(conn, ROUND_START_DUE, round_.id)
        await cancel_timer(conn, ROUND_CLOSE, round_.id)
    await store.save(conn, [r for _, r in found], now=now)
    return len(found)


async def move_pending_to_version(
    conn: asyncpg.Connection, ctx: PatrolContext, route: RouteVersion, *, now: datetime
) -> int:
    """A new route version applies to the route's rounds that have not started (and are not judged); a round
    keeps the version it started with."""
    found = await store.lock_pending_of_route(conn, route)
    ids = [r.id for _, r in found]
    if not ids:
        return 0
    await store.move_to_version(conn, ids, route, now=now)
    return len(ids)


async def attach_scans(conn: asyncpg.Connection, ctx: PatrolContext, scans: Sequence[ScanFact]) -> int:
    """Attach each scan to its round; a scan outside every planned round is voluntary and stays unattached.
    Returns how many were attached."""
    done = await store.attached_already(conn, [(s.team_id, s.scan_id) for s in scans])
    todo = sorted((s for s in scans if (s.team_id, s.scan_id) not in done), key=lambda s: s.device_time)
    if not todo:
        return 0
    found = await store.candidate_rounds(
        conn, sorted({s.team_id for s in todo}), todo[0].device_time, todo[-1].device_time)
    if not found:
        return 0
    by_team: dict[str, list[tuple[RoundRow, domain.Round]]] = {}
    for row, round_ in found:
        by_team.setdefault(row.team_id, []).append((row, round_))
    effects: dict[str, list[RoundEffect]] = {}
    rows: dict[str, tuple[RoundRow, domain.Round]] = {}
    attached: list[tuple[str, str, str, str, datetime]] = []
    for scan in todo:
        team_rounds = {r.id: (row, r) for row, r in by_team.get(scan.team_id, ())
                       if scan.checkpoint_id in r.first_scan_at}
        chosen = domain.choose_round([
            Candidate(r.id, r.starts_at, r.ends_at, r.closes_at, r.first_scan_at[scan.checkpoint_id] is None)
            for _, r in team_rounds.values() if r.state is not RoundState.CANCELLED
        ], scan.device_time)
        if chosen is None:
            continue
        row, round_ = team_rounds[chosen]
        effects.setdefault(chosen, []).extend(domain.attach(round_, scan.checkpoint_id, scan.device_time))
        rows[chosen] = (row, round_)
        attached.append((scan.team_id, scan.scan_id, chosen, scan.checkpoint_id, scan.device_time))
    now = ctx.now()
    await store.save(conn, [r for _, r in rows.values()], now=now)
    await store.insert_round_scans(conn, attached)
    outgoing = []
    for round_id, round_effects in effects.items():
        row, round_ = rows[round_id]
        outgoing.extend(await round_envelopes(conn, ctx.events, ctx.zone, row, round_, round_effects, now=now))
    if outgoing:
        await enqueue(conn, outgoing)
    return len(attached)


async def catch_up(conn: asyncpg.Connection, ctx: PatrolContext, round_id: str) -> int:
    """Attach the accepted scans that belong in this round's window but are not attached yet."""
    missing = await store.unattached_scans(conn, round_id)
    if not missing:
        return 0
    return await attach_scans(conn, ctx, missing)


async def judge(conn: asyncpg.Connection, ctx: PatrolContext, round_id: str,
                rule: Callable[[domain.Round], list[RoundEffect]]) -> None:
    """Judge a round at one of its deadlines (``rule``: ``domain.start_due`` or ``domain.close``), by the record
    of accepted scans rather than by how far the scans consumer has got: scans accepted but not yet attached (the
    consumer lags by moments, or was down) are attached first, in the usual lock order."""
    await catch_up(conn, ctx, round_id)
    found = await store.lock_round(conn, round_id)
    if found is None:
        return
    row, round_ = found
    was_closed = round_.closed
    effects = rule(round_)
    # a round completed before its close has no effect to announce, but is judged (closed) all the same: compliance
    # counts only closed rounds
    if not effects and round_.closed == was_closed:
        return
    now = ctx.now()
    await store.save(conn, [round_], now=now)
    await enqueue(conn, await round_envelopes(conn, ctx.events, ctx.zone, row, round_, effects, now=now))


async def list_rounds(
    conn: asyncpg.Connection, *, team_id: str | None, route_id: str | None, night: date | None,
    area: Sequence[str] | None, limit: int, after: str | None,
) -> list[ListedRound]:
    return await store.list_rounds(conn, team_id=team_id, route_id=route_id, night=night, area=area, limit=limit,
                                   after=after)


@dataclass(frozen=True)
class RoundDetail:
    round: RoundRow
    checkpoints: list[RoundCheckpointRow]
    scans: list[RoundScanRow]
    flags: dict[str, list[Any]] | None  # the scans' anti-fraud flags by scan id; None before flags were recorded


async def round_detail(conn: asyncpg.Connection, round_id: str, *, team_id: str | None = None,
                       areas: Sequence[str] | None = None) -> RoundDetail:
    """A round with its checkpoints, scans and their flags. ``team_id`` / ``areas``: the reader sees only that
    team's rounds, or those in these areas (``scope.areas_for``); another one is answered as missing (its
    existence is not confirmed)."""
    row = await store.get_round(conn, round_id)
    if row is None or (team_id is not None and row.team_id != team_id) or (
            areas is not None and row.area not in areas):
        raise NotFound(f"没有轮次 {round_id} (no round {round_id})")
    return RoundDetail(row, await store.round_checkpoints(conn, round_id), await store.round_scans(conn, round_id),
                       await store.scan_flags(conn, round_id))
