"""Rounds (轮次): materialised from plans, scans attached, judged at their deadlines. One transaction each,
round state and outbox together.

- ``materialise``: the plan's slots within the horizon become pending rounds (idempotent: a round's id is its
  plan and start), each with its two durable timers: start-due and close.
- ``retire_future``: a cancelled or changed plan's rounds not yet judged and never started are cancelled
  (an open not-started alert is resolved).
- ``attach_scans``: the inbox consumer of ``patrol.scan-accepted`` (group ``patrol.scans``) puts each scan in
  its round by team, checkpoint and device time — never the HTTP intake, which stays as fast as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from patrol import store_rounds as store
from patrol import store_routes
from patrol.context import PatrolContext
from patrol.domain import rounds as domain
from patrol.domain.plans import Plan
from patrol.domain.rounds import Candidate, Effect, RoundEffect, RoundState
from patrol.domain.routes import RouteVersion
from patrol.round_events import round_envelopes
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.timers import cancel as cancel_timer
from pingan_shared.timers import schedule_many

ROUND_START_DUE = "patrol-round-start-due"
ROUND_CLOSE = "patrol-round-close"
ROUNDS_TOPUP = "patrol-rounds-topup"


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
    found = await store.lock_rounds(
        conn, "plan_id = $1 AND state = 'pending' AND NOT closed AND NOT (id = ANY($2::text[]))",
        plan_id, list(keep))
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
    found = await store.lock_rounds(
        conn, "route_id = $1 AND state = 'pending' AND NOT closed AND route_version <> $2",
        route.route_id, route.version)
    ids = [r.id for _, r in found]
    if not ids:
        return 0
    await conn.execute(
        "UPDATE rounds SET route_version = $2, area = $3, ordered = $4, updated_at = $5 WHERE id = ANY($1::text[])",
        ids, route.version, route.area, route.ordered, now)
    await conn.execute("DELETE FROM round_checkpoints WHERE round_id = ANY($1::text[])", ids)
    await conn.execute(
        """
        INSERT INTO round_checkpoints (round_id, checkpoint_id, position)
        SELECT r, c.id, c.pos - 1 FROM unnest($1::text[]) AS r, unnest($2::text[]) WITH ORDINALITY AS c(id, pos)
        """,
        ids, list(route.checkpoint_ids))
    return len(ids)


@dataclass(frozen=True)
class ScanFact:
    team_id: str
    scan_id: str
    checkpoint_id: str
    device_time: datetime


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
    by_team: dict[str, list[tuple[Any, domain.Round]]] = {}
    for row, round_ in found:
        by_team.setdefault(row["team_id"], []).append((row, round_))
    effects: dict[str, list[RoundEffect]] = {}
    rows: dict[str, Any] = {}
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
    rows = await conn.fetch(
        """
        SELECT s.team_id, s.scan_id, s.checkpoint_id, s.device_time
        FROM rounds r JOIN round_checkpoints c ON c.round_id = r.id
        JOIN scans s ON s.checkpoint_id = c.checkpoint_id AND s.team_id = r.team_id
             AND s.device_time >= r.starts_at AND s.device_time < r.closes_at
        WHERE r.id = $1
          AND NOT EXISTS (SELECT 1 FROM round_scans rs WHERE rs.team_id = s.team_id AND rs.scan_id = s.scan_id)
        """,
        round_id,
    )
    if not rows:
        return 0
    return await attach_scans(conn, ctx, [ScanFact(r["team_id"], r["scan_id"], r["checkpoint_id"], r["device_time"])
                                          for r in rows])
