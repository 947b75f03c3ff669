"""Durable timers: business deadlines stored in PostgreSQL.

A timer is (kind, key, due_at, payload). ``TimerRunner`` fires due timers with
``FOR UPDATE SKIP LOCKED``, running the handler and marking the timer fired in one transaction, so
any number of replicas fire each timer exactly once — also a timer whose due time passed while
every replica was down. The handler typically changes state and writes outbox events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pingan_shared.clock import Clock
from pingan_shared.db.errors import connection
from pingan_shared.logs import get_logger
from pingan_shared.metrics import Metrics

log = get_logger(__name__)


@dataclass(frozen=True)
class Timer:
    id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int


TimerHandler = Callable[[asyncpg.Connection, Timer], Awaitable[None]]


async def schedule(
    conn: asyncpg.Connection, kind: str, key: str, due_at: datetime, payload: Mapping[str, Any] | None = None
) -> None:
    """Create or move a timer; moving a fired or cancelled timer re-arms it."""
    await conn.execute(
        """
        INSERT INTO timers (kind, timer_key, due_at, payload) VALUES ($1, $2, $3, $4)
        ON CONFLICT (kind, timer_key) DO UPDATE
        SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, status = 'pending',
            attempts = 0, last_error = NULL, fired_at = NULL
        """,
        kind, key, due_at, dict(payload or {}),
    )


async def cancel(conn: asyncpg.Connection, kind: str, key: str) -> bool:
    result = await conn.execute(
        "UPDATE timers SET status = 'cancelled' WHERE kind = $1 AND timer_key = $2 AND status = 'pending'",
        kind, key,
    )
    return result.endswith(" 1")


class TimerRunner:
    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        handlers: Mapping[str, TimerHandler],
        metrics: Metrics,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 100,
        max_attempts: int = 5,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._handlers = dict(handlers)
        self._metrics = metrics
        self._poll = poll_seconds
        self._batch_size = batch_size
        self._max_attempts = max_attempts

    async def run(self) -> None:
        while True:
            try:
                fired = await self.fire_due()
            except Exception as exc:
                log.warning("timer run failed; will retry", error=repr(exc))
                fired = 0
            if fired < self._batch_size:
                await asyncio.sleep(self._poll)

    async def fire_due(self) -> int:
        """Fire one batch of due timers; returns how many were taken."""
        now = self._clock.now()
        async with connection(self._pool) as conn, conn.transaction():
            rows = await conn.fetch(
                """
                SELECT id, kind, timer_key, due_at, payload, attempts FROM timers
                WHERE status = 'pending' AND due_at <= $1 AND kind = ANY($2::text[])
                ORDER BY due_at, id LIMIT $3
                FOR UPDATE SKIP LOCKED
                """,
                now, list(self._handlers), self._batch_size,
            )
            for row in rows:
                timer = Timer(row["id"], row["kind"], row["timer_key"], row["due_at"], row["payload"],
                              row["attempts"])
                await self._fire_one(conn, timer, now)
            return len(rows)

    async def _fire_one(self, conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        try:
            async with conn.transaction():
                await self._handlers[timer.kind](conn, timer)
        except Exception as exc:
            attempts = timer.attempts + 1
            give_up = attempts >= self._max_attempts
            log.error("timer handler failed", kind=timer.kind, key=timer.key, attempts=attempts,
                      error=repr(exc), giving_up=give_up)
            await conn.execute(
                """
                UPDATE timers SET attempts = $2, last_error = $3,
                    status = CASE WHEN $4 THEN 'failed' ELSE 'pending' END, due_at = $5
                WHERE id = $1
                """,
                timer.id, attempts, repr(exc)[:2000], give_up, now + timedelta(seconds=2**attempts),
            )
            self._metrics.timers_fired.labels(timer.kind, "failed" if give_up else "retry").inc()
            return
        await conn.execute(
            "UPDATE timers SET status = 'fired', fired_at = $2, attempts = attempts + 1 WHERE id = $1",
            timer.id, now,
        )
        self._metrics.timers_fired.labels(timer.kind, "fired").inc()
