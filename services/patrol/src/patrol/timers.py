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
from datetime import datetime, timedelta

import asyncpg

from patrol import rounds, store_plans
from patrol import store_rounds as store
from patrol.context import PatrolContext
from patrol.domain import rounds as domain
from patrol.round_events import round_envelopes
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.timers import Timer, TimerHandler, schedule

BoundHandler = Callable[[PatrolContext, asyncpg.Connection, Timer], Awaitable[None]]
TOPUP_KEY = "horizon"


async def _judge(
    ctx: PatrolContext, conn: asyncpg.Connection, round_id: str,
    rule: Callable[[domain.Round], list[domain.RoundEffect]],
) -> None:
    # Judge by the record of accepted scans, not by how far the rounds consumer has got: scans accepted but not
    # yet attached (the consumer lags by moments, or was down) are attached first, in the usual lock order.
    await rounds.catch_up(conn, ctx, round_id)
    found = await store.lock_round(conn, round_id)
    if found is None:
        return
    row, round_ = found
    effects = rule(round_)
    if not effects:
        return
    now = ctx.now()
    await store.save(conn, [round_], now=now)
    await enqueue(conn, await round_envelopes(conn, ctx.events, ctx.zone, row, round_, effects, now=now))


async def on_start_due(ctx: PatrolContext, conn: asyncpg.Connection, timer: Timer) -> None:
    await _judge(ctx, conn, timer.key, domain.start_due)


async def on_close(ctx: PatrolContext, conn: asyncpg.Connection, timer: Timer) -> None:
    await _judge(ctx, conn, timer.key, domain.close)


async def on_topup(ctx: PatrolContext, conn: asyncpg.Connection, timer: Timer) -> None:
    now = ctx.now()
    for row in await store_plans.active(conn):
        await rounds.materialise(conn, ctx, store_plans.plan_of(row), now=now)
    await schedule(conn, rounds.ROUNDS_TOPUP, TOPUP_KEY, now + timedelta(minutes=ctx.settings.round_topup_minutes))


async def ensure_topup(conn: asyncpg.Connection, due_at: datetime) -> None:
    """Arm the top-up timer unless it is pending already (a pending one keeps its earlier due time)."""
    await conn.execute(
        """
        INSERT INTO timers (kind, timer_key, due_at, payload) VALUES ($1, $2, $3, '{}')
        ON CONFLICT (kind, timer_key) DO UPDATE
        SET due_at = EXCLUDED.due_at, status = 'pending', attempts = 0, last_error = NULL, fired_at = NULL
        WHERE timers.status <> 'pending'
        """,
        rounds.ROUNDS_TOPUP, TOPUP_KEY, due_at,
    )


HANDLERS: dict[str, BoundHandler] = {
    rounds.ROUND_START_DUE: on_start_due,
    rounds.ROUND_CLOSE: on_close,
    rounds.ROUNDS_TOPUP: on_topup,
}


def handlers(ctx: PatrolContext) -> dict[str, TimerHandler]:
    return {kind: functools.partial(handler, ctx) for kind, handler in HANDLERS.items()}
