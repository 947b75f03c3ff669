"""patrol's durable timer handlers, bound to the context in ``handlers()``. Each re-reads its round FOR UPDATE
and acts only if the state still calls for it, so a timer that fires late (after a restart spanning its due
time) or finds its work done changes nothing; the runner fires each timer once across replicas.

- ``patrol-round-start-due`` (key: round id) at starts_at + start grace: no scan yet → not started, at once.
- ``patrol-round-close`` (key: round id) at the window's close: each unscanned checkpoint is missed (漏巡).
- ``patrol-rounds-topup`` (key: ``horizon``): materialises every active plan's rounds up to the horizon and
  re-arms itself every ``PATROL_ROUND_TOPUP_MINUTES``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import asyncpg

from patrol import plans, rounds
from patrol.context import PatrolContext
from patrol.domain import rounds as domain
from pingan_shared.timers import Timer, TimerHandler

BoundHandler = Callable[[PatrolContext, asyncpg.Connection, Timer], Awaitable[None]]


async def on_start_due(ctx: PatrolContext, conn: asyncpg.Connection, timer: Timer) -> None:
    await rounds.judge(conn, ctx, timer.key, domain.start_due)


async def on_close(ctx: PatrolContext, conn: asyncpg.Connection, timer: Timer) -> None:
    await rounds.judge(conn, ctx, timer.key, domain.close)


async def on_topup(ctx: PatrolContext, conn: asyncpg.Connection, timer: Timer) -> None:
    await plans.top_up(conn, ctx)


HANDLERS: dict[str, BoundHandler] = {
    rounds.ROUND_START_DUE: on_start_due,
    rounds.ROUND_CLOSE: on_close,
    rounds.ROUNDS_TOPUP: on_topup,
}


def handlers(ctx: PatrolContext) -> dict[str, TimerHandler]:
    return {kind: functools.partial(handler, ctx) for kind, handler in HANDLERS.items()}
