"""A roster shift's plan (DESIGN.md §3, flow 1): a patrol shift naming its team and route becomes a plan for
the shift's window (one night); a change updates it, a cancellation removes its future rounds.

roster publishes each shift's whole state, keyed by shift id, so the rule is the per-key sequence one
(``pingan_shared.messaging.ordering``): the highest applied sequence is kept per shift (also after a cancel), a
stale or repeated event changes nothing.

patrol answers every patrol shift it applies (DESIGN.md §3, flow 7): ``patrol.shift-planned``, or
``patrol.shift-refused`` with the problems the organiser can fix — a route patrol does not know, a team the
directory does not hold, a clash with another plan of the team on the route. A refused shift has no plan (one it
had before stops). A shift patrol cannot read at all (its window, its time zone) is no one's to fix in roster's
screens: it goes to the dead letters, as before.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from patrol import plans
from patrol.context import PatrolContext
from patrol.domain.plans import Plan
from patrol.store import plans as store_plans
from patrol.store import routes as store_routes
from pingan_shared.directory.doors import TEAMS, find
from pingan_shared.events.catalog import SHIFT_PLANNED, SHIFT_REFUSED
from pingan_shared.events.contracts import RefusalProblem
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.patrol_contracts import ShiftPlannedV1, ShiftRefusedV1
from pingan_shared.events.roster_contracts import DutyKind, ShiftCancelledV1, ShiftStateV1
from pingan_shared.messaging.consumer import HandlerRejected
from pingan_shared.messaging.ordering import highest_applied, should_apply
from pingan_shared.messaging.outbox import enqueue


def plan_id_of(shift_id: str) -> str:
    return f"shift:{shift_id}"


def plan_for_shift(ctx: PatrolContext, shift: ShiftStateV1) -> Plan | None:
    """The plan a shift asks for; None when it is not a patrol of a route by a team (training, no route)."""
    if shift.duty is DutyKind.TRAINING or not shift.team_id or not shift.route_id:
        return None
    length = shift.ends_at - shift.starts_at
    if length <= timedelta(0) or length >= timedelta(hours=24):
        raise HandlerRejected(f"shift {shift.shift_id}: ends_at must be after starts_at and within 24 hours")
    try:
        zone = ZoneInfo(shift.timezone)
    except (KeyError, ValueError) as exc:
        raise HandlerRejected(f"shift {shift.shift_id}: unknown time zone {shift.timezone!r}") from exc
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    if start.time() == end.time():
        raise HandlerRejected(f"shift {shift.shift_id}: a window needs a length")
    every = ctx.settings.shift_every_minutes
    return Plan(
        id=plan_id_of(shift.shift_id), team_id=shift.team_id, route_id=shift.route_id, first_date=start.date(),
        last_date=start.date(), window_start=start.time().replace(tzinfo=None),
        window_end=end.time().replace(tzinfo=None), timezone=shift.timezone, every_minutes=None,
        rounds_per_night=max(1, int(length / timedelta(minutes=every))),
        start_grace=timedelta(minutes=ctx.settings.shift_start_grace_minutes),
        checkpoint_grace=timedelta(minutes=ctx.settings.shift_checkpoint_grace_minutes), shift_id=shift.shift_id,
    )


async def apply_shift_event(
    conn: asyncpg.Connection, ctx: PatrolContext, envelope: Envelope, payload: BaseModel
) -> None:
    shift_id: str = payload.shift_id  # type: ignore[attr-defined]
    last_sequence = await store_plans.shift_sequence_for_update(conn, shift_id)
    if not should_apply(last_sequence, envelope):
        return  # stale or repeated: a newer state of this shift is applied already
    sequence = highest_applied(last_sequence, envelope)
    now = ctx.now()
    plan_id = plan_id_of(shift_id)
    if isinstance(payload, ShiftCancelledV1):
        await plans.cancel_plan(conn, ctx, plan_id, now=now)
        await store_plans.record_shift(conn, shift_id, sequence=sequence, plan_id=plan_id, state="cancelled")
        return
    assert isinstance(payload, ShiftStateV1)
    plan = plan_for_shift(ctx, payload)
    if plan is None:
        # no (longer a) patrol of a route: a plan it had before stops
        await plans.cancel_plan(conn, ctx, plan_id, now=now)
        await store_plans.record_shift(conn, shift_id, sequence=sequence, plan_id=None, state="not-patrol")
        return
    problems = await _problems(conn, payload)
    if not problems:
        try:
            async with conn.transaction():  # a savepoint: a refused plan leaves nothing behind
                await plans.save_plan(conn, ctx, plan, now=now, allow_update=True)
        except plans.PlanRefused as refused:
            field = refused.field if refused.field in ("route_id", "team_id") else "window"
            problems = [RefusalProblem(field=field, value=getattr(payload, field, None), reason=refused.detail[:500])]
    if problems:
        await plans.cancel_plan(conn, ctx, plan_id, now=now)
        await store_plans.record_shift(conn, shift_id, sequence=sequence, plan_id=None, state="refused")
        await enqueue(conn, [ctx.events.make(SHIFT_REFUSED, ShiftRefusedV1(
            shift_id=shift_id, period_id=payload.period_id, problems=problems, at=now), key=shift_id,
            causation=envelope)])
        return
    await store_plans.record_shift(conn, shift_id, sequence=sequence, plan_id=plan_id, state="planned")
    await enqueue(conn, [ctx.events.make(SHIFT_PLANNED, ShiftPlannedV1(
        shift_id=shift_id, period_id=payload.period_id, plan_id=plan_id, at=now), key=shift_id,
        causation=envelope)])


async def _problems(conn: asyncpg.Connection, shift: ShiftStateV1) -> list[RefusalProblem]:
    """What the organiser must fix before patrol can plan the shift: its route and its team, known or not."""
    problems = []
    if shift.route_id and await store_routes.current(conn, shift.route_id) is None:
        problems.append(RefusalProblem(field="route_id", value=shift.route_id, reason=(
            f"巡逻服务没有路线 {shift.route_id} (unknown route {shift.route_id}: register it in patrol, or name "
            "another)")[:500]))
    if shift.team_id and await find(conn, shift.team_id, kinds=TEAMS) is None:
        problems.append(RefusalProblem(field="team_id", value=shift.team_id, reason=(
            f"目录中没有巡逻队 {shift.team_id} (unknown team {shift.team_id}: add it to the directory)")[:500]))
    return problems
