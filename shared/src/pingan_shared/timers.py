"""Durable timers: business deadlines stored in PostgreSQL.

A timer is (kind, key, due_at, payload). ``TimerRunner`` fires due timers with
``FOR UPDATE SKIP LOCKED``, running the handler and marking the timer fired in one transaction, so
any number of replicas fire each timer exactly once — also a timer whose due time passed while
every replica was down. The handler typically changes state and writes outbox events.

A handler may re-arm its own timer (``schedule()`` for its kind and key: the next step of an
escalation ladder); it then stays pending for its new due time. Only the handler's own failures use
up attempts: a deadlock, a serialization failure, a lost connection or a database outage leave the
timer exactly as it was, to fire later. A timer whose attempts are used up is ``failed``: it is
logged, counted in ``pingan_timers_failed`` and listed by ``pingan timers failed`` until someone
retries it (``pingan timers retry``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pingan_shared.clock import Clock
from pingan_shared.db.errors import CONNECTION_LOST, RETRY_TRANSACTION, DatabaseUnavailable, connection
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


# Runs in a savepoint of the batch's transaction, its timer's row already marked fired: schedule() for
# its own kind and key re-arms it, raising undoes all it wrote and counts an attempt.
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


async def schedule_many(
    conn: asyncpg.Connection, timers: Sequence[tuple[str, str, datetime, Mapping[str, Any] | None]]
) -> None:
    """``schedule()`` for many (kind, key, due_at, payload) at once, in one statement: a release that opens
    thousands of deadlines arms them without a round trip each. A (kind, key) given twice keeps the last."""
    latest = {(kind, key): (due_at, dict(payload or {})) for kind, key, due_at, payload in timers}
    if not latest:
        return
    await conn.execute(
        """
        INSERT INTO timers (kind, timer_key, due_at, payload)
        SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[])
        ON CONFLICT (kind, timer_key) DO UPDATE
        SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, status = 'pending',
            attempts = 0, last_error = NULL, fired_at = NULL
        """,
        [kind for kind, _ in latest], [key for _, key in latest], [due for due, _ in latest.values()],
        [payload for _, payload in latest.values()],
    )


async def cancel(conn: asyncpg.Connection, kind: str, key: str) -> bool:
    result = await conn.execute(
        "UPDATE timers SET status = 'cancelled' WHERE kind = $1 AND timer_key = $2 AND status = 'pending'",
        kind, key,
    )
    return result.endswith(" 1")


def _batch_lost(conn: asyncpg.Connection, exc: Exception) -> bool:
    """Whether the batch's connection is gone or in an unknown state (its transaction with it).

    An ``OSError`` on a connection that is still open and whose savepoint rolled back came from
    something else the handler talked to (a gateway, a timeout of its own): the handler's failure.
    Had our connection broken, rolling back the savepoint would have raised asyncpg's own error.
    """
    if conn.is_closed():
        return True
    return isinstance(exc, CONNECTION_LOST) and not isinstance(exc, OSError)


@dataclass(frozen=True)
class FailedTimer:
    id: int
    kind: str
    key: str
    due_at: datetime  # when its last attempt was due
    attempts: int
    last_error: str | None
    payload: dict[str, Any]


async def failed_timers(conn: asyncpg.Connection, *, limit: int) -> list[FailedTimer]:
    """Timers that used up their attempts, oldest due first."""
    rows = await conn.fetch(
        "SELECT id, kind, timer_key, due_at, attempts, last_error, payload FROM timers "
        "WHERE status = 'failed' ORDER BY due_at, id LIMIT $1",
        limit,
    )
    return [FailedTimer(r["id"], r["kind"], r["timer_key"], r["due_at"], r["attempts"], r["last_error"],
                        r["payload"]) for r in rows]


async def retry_failed(conn: asyncpg.Connection, timer_id: int) -> bool:
    """Give a failed timer its attempts back; it fires on the runner's next poll (its due time is past).
    False when there is no failed timer with this id. The last error stays until it is overwritten."""
    result = await conn.execute(
        "UPDATE timers SET status = 'pending', attempts = 0 WHERE id = $1 AND status = 'failed'", timer_id
    )
    return result.endswith(" 1")


@dataclass(frozen=True)
class _Outcome:
    timer: Timer
    label: str  # fired, retry, failed, deferred: the label of pingan_timers_fired_total


@dataclass(frozen=True)
class _Batch:
    outcomes: list[_Outcome]

    def count(self, label: str) -> int:
        return sum(o.label == label for o in self.outcomes)


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
        failed_count_seconds: float = 60.0,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._handlers = dict(handlers)
        self._metrics = metrics
        self._poll = poll_seconds
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._failed_count_seconds = failed_count_seconds

    async def run(self) -> None:
        counted_failed_at: float | None = None
        while True:
            batch = _Batch([])
            try:
                batch = await self._fire_batch()
                # Retries by `pingan timers retry` happen elsewhere: recount now and then, not every poll
                # (the count reads the whole table).
                if batch.count("failed") or counted_failed_at is None or (
                        time.monotonic() - counted_failed_at >= self._failed_count_seconds):
                    await self.count_failed()
                    counted_failed_at = time.monotonic()
            except Exception as exc:
                log.warning("timer run failed; will retry", error=repr(exc))
            if len(batch.outcomes) < self._batch_size or batch.count("deferred"):
                await asyncio.sleep(self._poll)

    async def fire_due(self) -> int:
        """Fire one batch of due timers; returns how many were taken (fired, failed or deferred)."""
        return len((await self._fire_batch()).outcomes)

    async def count_failed(self) -> None:
        """Set ``pingan_timers_failed`` for each kind this runner handles."""
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT kind, count(*) AS n FROM timers WHERE status = 'failed' AND kind = ANY($1::text[]) "
                "GROUP BY kind",
                list(self._handlers),
            )
        counts = {r["kind"]: r["n"] for r in rows}
        for kind in self._handlers:
            self._metrics.timers_failed.labels(kind).set(counts.get(kind, 0))

    async def _fire_batch(self) -> _Batch:
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
            batch = _Batch([])
            for row in rows:
                timer = Timer(row["id"], row["kind"], row["timer_key"], row["due_at"], row["payload"],
                              row["attempts"])
                batch.outcomes.append(_Outcome(timer, await self._fire_one(conn, timer, now)))
        # Counted once committed: a batch lost with its connection fired nothing.
        for outcome in batch.outcomes:
            self._metrics.timers_fired.labels(outcome.timer.kind, outcome.label).inc()
            if outcome.label == "failed":
                log.error("timer failed for good: it fires no more until `pingan timers retry`",
                          kind=outcome.timer.kind, key=outcome.timer.key, timer_id=outcome.timer.id,
                          attempts=self._max_attempts)
        return batch

    async def _fire_one(self, conn: asyncpg.Connection, timer: Timer, now: datetime) -> str:
        """Fire one timer in a savepoint of the batch; returns its outcome."""
        try:
            async with conn.transaction():
                # Marked fired *before* the handler runs: a handler that re-arms its own timer overwrites
                # this with schedule()'s pending row, so whatever the handler wrote last stands.
                await conn.execute(
                    "UPDATE timers SET status = 'fired', fired_at = $2, attempts = attempts + 1 WHERE id = $1",
                    timer.id, now,
                )
                await self._handlers[timer.kind](conn, timer)
        except Exception as exc:
            if _batch_lost(conn, exc):
                # The batch's transaction went with the connection: every timer in it is as it was before
                # the batch, none counted, and fires on the next run (after the pool reconnects).
                raise
            if isinstance(exc, (*RETRY_TRANSACTION, DatabaseUnavailable)):
                # A lost race (deadlock, serialization) or an outage met by the handler: the savepoint
                # undid its work and its locks; the timer stays due with its attempts, the batch goes on.
                log.warning("timer deferred by a transient failure; no attempt used", kind=timer.kind,
                            key=timer.key, error=repr(exc))
                return "deferred"
            return await self._record_failure(conn, timer, now, exc)
        return "fired"

    async def _record_failure(self, conn: asyncpg.Connection, timer: Timer, now: datetime, exc: Exception) -> str:
        attempts = timer.attempts + 1
        give_up = attempts >= self._max_attempts
        log.warning("timer handler failed", kind=timer.kind, key=timer.key, attempts=attempts,
                    error=repr(exc), giving_up=give_up)
        # Giving up leaves due_at as it was (when the last attempt was due): a retry fires at once.
        await conn.execute(
            """
            UPDATE timers SET attempts = $2, last_error = $3,
                status = CASE WHEN $4 THEN 'failed' ELSE 'pending' END,
                due_at = CASE WHEN $4 THEN due_at ELSE $5 END
            WHERE id = $1
            """,
            timer.id, attempts, repr(exc)[:2000], give_up, now + timedelta(seconds=2**attempts),
        )
        return "failed" if give_up else "retry"
