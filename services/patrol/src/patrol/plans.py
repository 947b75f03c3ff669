"""Patrol plans: from the API (organisers) and from roster's shifts (``consumers``). One transaction each:
the plan, its rounds within the horizon and their timers together.

Overlapping plans for one team and route are refused (409 naming the clash): a round's scans could not be told
apart between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from patrol import rounds
from patrol.context import PatrolContext
from patrol.domain.plans import Plan, first_clash
from patrol.store import plans as store_plans
from patrol.store import routes as store_routes
from patrol.store import topup as store_topup
from patrol.store.plans import PlanRow as PlanRow  # what the plan readers get
from pingan_shared.directory.doors import TEAMS, organisation_code
from pingan_shared.refused import NotFound, Refused
from pingan_shared.timers import schedule


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class PlanRefused(Refused):
    """A plan the use case will not save."""


@dataclass(frozen=True)
class Saved:
    outcome: Outcome
    plan_id: str
    rounds_added: int


async def save_plan(
    conn: asyncpg.Connection, ctx: PatrolContext, plan: Plan, *, now: datetime, allow_update: bool = False
) -> Saved:
    """Store the plan and materialise its rounds. The same plan again changes nothing; another plan under an
    existing id is a 409 unless ``allow_update`` (a roster shift's change)."""
    route = await store_routes.current(conn, plan.route_id)
    if route is None:
        raise PlanRefused(422, f"没有路线 {plan.route_id} (unknown route {plan.route_id})", "route_id")
    existing = await store_plans.get(conn, plan.id, for_update=True)
    if existing is not None and existing.cancelled_at is None and existing.plan == plan:
        return Saved(Outcome.UNCHANGED, plan.id, 0)
    if existing is not None and not allow_update:
        raise PlanRefused(409, f"该编号已用于内容不同的计划 (a different plan already has the id {plan.id})", "id")
    windows = plan.windows()
    for rival in await store_plans.rivals(conn, plan, plan.covers):
        clash = first_clash(windows, rival.plan.windows())
        if clash is not None:
            local = clash[0].astimezone(plan.zone)
            raise PlanRefused(409, f"与巡逻队 {plan.team_id} 在路线 {plan.route_id} 上的计划 {rival.id} 时段重叠 "
                                   f"(overlaps plan {rival.id} of team {plan.team_id} on route {plan.route_id} "
                                   f"— the night starting {local:%Y-%m-%d %H:%M})", "window_start")
    await store_plans.upsert(conn, plan, now=now)
    if existing is not None:
        # Rounds not started move with the plan. Same team and route: the slots that stay are kept as they are
        # (an open not-started alert stays open); another team or route: every one is retired, and those still
        # in the horizon come back with the new team and route.
        same_walk = (existing.team_id, existing.route_id) == (plan.team_id, plan.route_id)
        keep = [s.round_id(plan.id) for s in plan.slots_between(now, rounds.horizon(ctx, now))] if same_walk else []
        await rounds.retire_future(conn, ctx, plan.id, now=now, keep=keep)
    added = await rounds.materialise(conn, ctx, plan, now=now, route=route)
    await store_topup.arm_unless_pending(conn, rounds.ROUNDS_TOPUP, rounds.TOPUP_KEY, _next_topup(ctx, now))
    return Saved(Outcome.CREATED if existing is None else Outcome.UPDATED, plan.id, added)


async def plan_by_hand(conn: asyncpg.Connection, ctx: PatrolContext, plan: Plan, *, now: datetime) -> Saved:
    """An organiser's plan (``save_plan``), its team first checked against the directory: a team nobody
    registered is a 422 naming ``body.team_id`` (a roster shift's is answered to roster instead: ``shift_plans``)."""
    await organisation_code(conn, plan.team_id, field="body.team_id", kinds=TEAMS)
    return await save_plan(conn, ctx, plan, now=now)


async def cancel_plan(conn: asyncpg.Connection, ctx: PatrolContext, plan_id: str, *, now: datetime) -> int | None:
    """Cancel the plan and its rounds not yet started; None when there is no such plan."""
    existing = await store_plans.get(conn, plan_id, for_update=True)
    if existing is None:
        return None
    if existing.cancelled_at is None:
        await store_plans.cancel(conn, plan_id, now=now)
    return await rounds.retire_future(conn, ctx, plan_id, now=now)


def _next_topup(ctx: PatrolContext, now: datetime) -> datetime:
    return now + timedelta(minutes=ctx.settings.round_topup_minutes)


async def top_up(conn: asyncpg.Connection, ctx: PatrolContext) -> None:
    """Every active plan's rounds up to the horizon (the ``patrol-rounds-topup`` timer), and the timer again."""
    now = ctx.now()
    for row in await store_plans.active(conn):
        await rounds.materialise(conn, ctx, row.plan, now=now)
    await schedule(conn, rounds.ROUNDS_TOPUP, rounds.TOPUP_KEY, _next_topup(ctx, now))


async def get_plan(conn: asyncpg.Connection, plan_id: str) -> PlanRow:
    row = await store_plans.get(conn, plan_id)
    if row is None:
        raise NotFound(f"没有巡逻计划 {plan_id} (no plan {plan_id})")
    return row


async def list_plans(conn: asyncpg.Connection, *, team_id: str | None, route_id: str | None, limit: int,
                     after: str | None) -> list[PlanRow]:
    return await store_plans.list_plans(conn, team_id=team_id, route_id=route_id, limit=limit, after=after)
