"""inspection's durable timer handlers, each bound to the context in ``handlers()``.

Add a handler to ``HANDLERS`` (kind → ``async (ctx, conn, timer)``). Every handler is idempotent: it re-reads
its row FOR UPDATE and acts only if the state still calls for it (a timer may fire late, after a restart,
or find its work already done).

``cycle-phase`` (key: cycle id) fires at the covert phase's end (release) and at the close, re-arming
itself for the next change; a cycle whose both changes passed while the service was down is released and
closed by one firing.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import asyncpg

from inspection import release, scorecards
from inspection.context import InspectionContext
from inspection.store import cycles as cycle_store
from pingan_shared.timers import Timer, TimerHandler, schedule

CYCLE_PHASE = "cycle-phase"

BoundHandler = Callable[[InspectionContext, asyncpg.Connection, Timer], Awaitable[None]]


async def on_cycle_phase(ctx: InspectionContext, conn: asyncpg.Connection, timer: Timer) -> None:
    cycle = await cycle_store.get(conn, timer.key, for_update=True)
    if cycle is None:
        return
    now = ctx.now()
    if cycle["phase"] == "covert" and now >= cycle["covert_ends_at"]:
        await release.release_cycle(conn, ctx, cycle, now=now)
        cycle = await cycle_store.get(conn, timer.key, for_update=True)
        assert cycle is not None
    if cycle["phase"] == "rectification" and now >= cycle["closes_at"]:
        await scorecards.close_cycle(conn, ctx, cycle, now=now)
        return
    next_change = {"covert": cycle["covert_ends_at"], "rectification": cycle["closes_at"]}.get(cycle["phase"])
    if next_change is not None:
        await schedule(conn, CYCLE_PHASE, cycle["id"], next_change)


HANDLERS: dict[str, BoundHandler] = {
    CYCLE_PHASE: on_cycle_phase,
}


def handlers(ctx: InspectionContext) -> dict[str, TimerHandler]:
    return {kind: functools.partial(handler, ctx) for kind, handler in HANDLERS.items()}
