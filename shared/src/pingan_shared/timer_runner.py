"""Fires due durable timers (see ``pingan_shared.timers`` for what a timer is and how a handler behaves):
``FOR UPDATE SKIP LOCKED`` batches, each handler in a savepoint with a timeout, suspects fired alone after a
lost connection, failures recorded and counted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from pingan_shared.clock import Clock
from pingan_shared.db.errors import CONNECTION_LOST, RETRY_TRANSACTION, DatabaseUnavailable, connection, is_closed
from pingan_shared.db.listening import listen, unlisten
from pingan_shared.logs import get_logger
from pingan_shared.metrics import Metrics
from pingan_shared.timers import Batched, Timer, TimerHandler

log = get_logger(__name__)

# Well below the pool's idle_in_transaction_session_timeout (60 s by default, db/pool.py): a handler
# that waits on something outside the database is stopped, and charged, before the server ends the
# session its whole batch runs in.
DEFAULT_HANDLER_TIMEOUT_SECONDS = 30.0

# Suspects (timers that lost their batch's connection) this runner remembers; a suspect fired elsewhere
# is never seen again here, so the oldest are forgotten past this many.
_MAX_SUSPECTS = 1000

_SELECT = "SELECT id, kind, timer_key, due_at, payload, attempts FROM timers"


class HandlerTimedOut(Exception):
    """A handler ran past the runner's ``handler_timeout_seconds``: its own failure, counted."""


class HandlerLostConnection(Exception):
    """A suspect timer's handler lost its connection again, running alone: its own failure, counted."""


def _batch_lost(conn: asyncpg.Connection, exc: Exception) -> bool:
    """Whether the batch's connection is gone or in an unknown state (its transaction with it).

    An ``OSError`` on a connection that is still open and whose savepoint rolled back came from
    something else the handler talked to (a gateway, a timeout of its own): the handler's failure.
    Had our connection broken, rolling back the savepoint would have raised asyncpg's own error.
    """
    if is_closed(conn):
        return True
    return isinstance(exc, CONNECTION_LOST) and not isinstance(exc, OSError)


def _timer(row: asyncpg.Record) -> Timer:
    return Timer(row["id"], row["kind"], row["timer_key"], row["due_at"], row["payload"], row["attempts"])


@dataclass(frozen=True)
class _Outcome:
    timer: Timer
    label: str  # fired, retry, failed, deferred: the label of pingan_timers_fired_total


@dataclass(frozen=True)
class _Lost:
    error: Exception  # what the transaction was lost with
    in_handler: bool  # lost once its handler had started (rather than marking the timer fired)
    handler_error: Exception | None  # what the handler raised


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
        handler_timeout_seconds: float = DEFAULT_HANDLER_TIMEOUT_SECONDS,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._handlers = dict(handlers)
        self._metrics = metrics
        self._poll = poll_seconds
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._failed_count_seconds = failed_count_seconds
        self._handler_timeout = handler_timeout_seconds
        # Timers whose handler was running when its batch's connection was lost (an ordered set): fired alone.
        self._suspects: dict[int, None] = {}
        self._wake = asyncio.Event()

    async def run(self) -> None:
        counted_failed_at: float | None = None
        loop = asyncio.get_running_loop()
        # Woken at once by a timer armed in this database (NOTIFY timers, platform migration 0006) and by a test's
        # clock moving; the poll covers a lost notification and timers that come due as real time passes.
        watch_clock = getattr(self._clock, "on_move", None)
        unwatch = watch_clock(lambda: loop.call_soon_threadsafe(self._wake.set)) if watch_clock else None
        listener: asyncpg.Connection | None = None
        try:
            while True:
                self._wake.clear()  # before the batch: a wake during it is for timers it may have missed
                batch = _Batch([])
                wait = self._poll
                try:
                    # (never a one-connection pool's only connection: such a runner polls)
                    if (listener is None or is_closed(listener)) and self._pool.get_max_size() > 1:
                        # forgotten before listening again: _listen hands the stale one back to the pool first, and
                        # if it then fails (the database restarting) the next round must not ask it again
                        stale, listener = listener, None
                        listener = await self._listen(stale)
                    batch = await self._fire_batch()
                    # Retries by `pingan timers retry` happen elsewhere: recount now and then, not every poll
                    # (the count reads the whole table).
                    if batch.count("failed") or counted_failed_at is None or (
                            time.monotonic() - counted_failed_at >= self._failed_count_seconds):
                        await self.count_failed()
                        counted_failed_at = time.monotonic()
                    if len(batch.outcomes) < self._batch_size or batch.count("deferred"):
                        wait = await self._until_next_due()
                except Exception as exc:
                    log.warning("timer run failed; will retry", error=repr(exc))
                    await asyncio.sleep(min(self._poll, 1.0))  # the database away: no busy loop on wake-ups
                    continue
                if len(batch.outcomes) < self._batch_size or batch.count("deferred"):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            if unwatch is not None:
                unwatch()
            await self._drop(listener)

    async def _until_next_due(self) -> float:
        """Seconds until the next pending timer comes due, at most the poll: a timer due in 300 ms fires then, not
        at the next poll (a lone escalation step waited up to a second). Read on the runner's clock and waited in
        real seconds: exact on the system clock; a test's FixedClock wakes its runners itself when it moves."""
        now = self._clock.now()
        async with connection(self._pool) as conn:
            due = await conn.fetchval(
                "SELECT min(due_at) FROM timers WHERE status = 'pending' AND due_at > $1 AND kind = ANY($2::text[])",
                now, list(self._handlers))
        if due is None:
            return self._poll
        return min(self._poll, max(0.0, (due - self._clock.now()).total_seconds()))

    async def _listen(self, stale: asyncpg.Connection | None) -> asyncpg.Connection:
        """A pooled connection LISTENing for timers armed (the one before it, closed, handed back first)."""
        await self._drop(stale)
        return await listen(self._pool, "timers", self._on_notify)

    async def _drop(self, listener: asyncpg.Connection | None) -> None:
        await unlisten(self._pool, listener, "timers", self._on_notify)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

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
        """Up to ``batch_size`` due timers: in one transaction, except that a suspect fires alone in its
        own, after the timers before it committed; the timers after it follow in another."""
        now = self._clock.now()
        batch = _Batch([])
        handled: list[int] = []  # not again in this call: a handler may re-arm its timer for a time already due
        while len(batch.outcomes) < self._batch_size:
            outcomes, suspect = await self._fire_until_suspect(now, self._batch_size - len(batch.outcomes), handled)
            batch.outcomes.extend(outcomes)
            handled.extend(o.timer.id for o in outcomes)
            if suspect is None:
                break
            handled.append(suspect)
            alone = await self._fire_alone(suspect, now)
            if alone is not None:
                batch.outcomes.append(alone)
        return batch

    async def _fire_until_suspect(
        self, now: datetime, limit: int, handled: list[int]
    ) -> tuple[list[_Outcome], int | None]:
        """Fire due timers in one transaction, stopping before a suspect (returned: it fires alone)."""
        outcomes: list[_Outcome] = []
        suspect: int | None = None
        async with connection(self._pool) as conn, conn.transaction():
            rows = await conn.fetch(
                f"""
                {_SELECT}
                WHERE status = 'pending' AND due_at <= $1 AND kind = ANY($2::text[]) AND id <> ALL($4::bigint[])
                ORDER BY due_at, id LIMIT $3
                FOR UPDATE SKIP LOCKED
                """,
                now, list(self._handlers), limit, handled,
            )
            run: list[Timer] = []  # consecutive timers of one Batched kind, fired together
            for row in rows:
                timer = _timer(row)
                if run and (timer.kind != run[0].kind or timer.id in self._suspects):
                    outcomes.extend(await self._fire_run(conn, run, now))
                    run = []
                if timer.id in self._suspects:
                    suspect = timer.id  # the rows after it are let go at commit, for the next transaction
                    break
                if isinstance(self._handlers[timer.kind], Batched):
                    run.append(timer)
                    continue
                result = await self._fire_one(conn, timer, now)
                if isinstance(result, _Lost):
                    # The batch's transaction went with the connection: every timer in it is as it was before
                    # the batch, none counted (the database may have restarted); the next batch commits the ones
                    # before this timer, then fires it alone.
                    self._suspect(timer.id)
                    raise result.error
                outcomes.append(_Outcome(timer, result))
            if run:
                outcomes.extend(await self._fire_run(conn, run, now))
        self._count(outcomes)  # once committed: a batch lost with its connection fired nothing
        return outcomes, suspect

    async def _fire_run(self, conn: asyncpg.Connection, run: list[Timer], now: datetime) -> list[_Outcome]:
        """Fire consecutive timers of one ``Batched`` kind with its ``many`` in one savepoint; if that fails,
        each on its own (``_fire_one``). Losing the connection makes them all suspects (and is raised)."""
        handler = self._handlers[run[0].kind]
        assert isinstance(handler, Batched)
        if len(run) > 1:
            try:
                async with conn.transaction():
                    await conn.execute(
                        "UPDATE timers SET status = 'fired', fired_at = $2, attempts = attempts + 1"
                        " WHERE id = ANY($1::bigint[])",
                        [t.id for t in run], now,
                    )
                    async with asyncio.timeout(self._handler_timeout):
                        await handler.many(conn, run)
                return [_Outcome(t, "fired") for t in run]
            except Exception as exc:
                if _batch_lost(conn, exc):
                    # As for one timer: the transaction went with the connection, nothing is charged; from now
                    # on each of these fires alone, so the one that did it is charged for it alone.
                    for t in run:
                        self._suspect(t.id)
                    raise
                log.warning("batched timer handler failed; firing its timers one by one", kind=run[0].kind,
                            timers=len(run), error=repr(exc))
        outcomes: list[_Outcome] = []
        for timer in run:
            result = await self._fire_one(conn, timer, now)
            if isinstance(result, _Lost):
                self._suspect(timer.id)
                raise result.error
            outcomes.append(_Outcome(timer, result))
        return outcomes

    async def _fire_alone(self, timer_id: int, now: datetime) -> _Outcome | None:
        """Fire a suspect in a transaction of its own; losing that one too while its handler runs is
        charged to it. None when it is no longer pending and due, or another replica holds it."""
        timer: Timer | None = None
        lost: _Lost | None = None
        try:
            async with connection(self._pool) as conn, conn.transaction():
                row = await conn.fetchrow(
                    f"{_SELECT} WHERE id = $1 AND status = 'pending' AND due_at <= $2 FOR UPDATE SKIP LOCKED",
                    timer_id, now,
                )
                if row is None:
                    return None
                timer = _timer(row)
                result = await self._fire_one(conn, timer, now)
                if isinstance(result, _Lost):
                    lost = result
                    raise result.error  # connection() terminates the connection: the server rolls back
        except Exception:
            if timer is None or lost is None or not lost.in_handler:
                raise  # no connection to be had, or lost before its handler ran: nothing to charge
            # Alone, its handler lost its connection again: its own doing, unless the database is away, in
            # which case connection() raises DatabaseUnavailable here and nothing is charged.
            error = HandlerLostConnection(
                f"its connection was lost while its handler ran: {lost.handler_error or lost.error!r}")
            async with connection(self._pool) as conn:
                charged = await self._record_failure(conn, timer, now, error)
            if charged is None:
                return None
            result = charged
        outcome = _Outcome(timer, result)
        self._count([outcome])
        if result in ("fired", "failed"):
            self._suspects.pop(timer.id, None)
        return outcome

    def _suspect(self, timer_id: int) -> None:
        self._suspects[timer_id] = None
        while len(self._suspects) > _MAX_SUSPECTS:
            del self._suspects[next(iter(self._suspects))]

    def _count(self, outcomes: list[_Outcome]) -> None:
        for outcome in outcomes:
            self._metrics.timers_fired.labels(outcome.timer.kind, outcome.label).inc()
            if outcome.label == "failed":
                log.error("timer failed for good: it fires no more until `pingan timers retry`",
                          kind=outcome.timer.kind, key=outcome.timer.key, timer_id=outcome.timer.id,
                          attempts=self._max_attempts)

    async def _fire_one(self, conn: asyncpg.Connection, timer: Timer, now: datetime) -> str | _Lost:
        """Fire one timer in a savepoint of its transaction; returns its outcome, or what the whole
        transaction was lost with (its connection gone)."""
        handler_started = False
        handler_error: Exception | None = None
        try:
            async with conn.transaction():
                # Marked fired *before* the handler runs: a handler that re-arms its own timer overwrites
                # this with schedule()'s pending row, so whatever the handler wrote last stands.
                await conn.execute(
                    "UPDATE timers SET status = 'fired', fired_at = $2, attempts = attempts + 1 WHERE id = $1",
                    timer.id, now,
                )
                handler_started = True
                try:
                    await self._run_handler(conn, timer)
                except Exception as exc:
                    handler_error = exc
                    raise
        except Exception as exc:
            if _batch_lost(conn, exc):
                return _Lost(exc, handler_started, handler_error)
            if isinstance(exc, (*RETRY_TRANSACTION, DatabaseUnavailable)):
                # A lost race (deadlock, serialization) or an outage met by the handler: the savepoint
                # undid its work and its locks; the timer stays due with its attempts, the batch goes on.
                log.warning("timer deferred by a transient failure; no attempt used", kind=timer.kind,
                            key=timer.key, error=repr(exc))
                return "deferred"
            # its row is locked by this transaction, as it was read: always charged
            return await self._record_failure(conn, timer, now, exc) or "deferred"
        return "fired"

    async def _run_handler(self, conn: asyncpg.Connection, timer: Timer) -> None:
        deadline = asyncio.timeout(self._handler_timeout)
        try:
            async with deadline:
                await self._handlers[timer.kind](conn, timer)
        except TimeoutError as exc:
            if deadline.expired():
                raise HandlerTimedOut(f"{timer.kind} handler ran past {self._handler_timeout:g} s") from exc
            raise

    async def _record_failure(
        self, conn: asyncpg.Connection, timer: Timer, now: datetime, exc: Exception
    ) -> str | None:
        """Charge the handler's failure: the timer's row must still read as it was read (after its
        transaction was lost, another replica may have fired or charged it since: then None)."""
        attempts = timer.attempts + 1
        give_up = attempts >= self._max_attempts
        # Giving up leaves due_at as it was (when the last attempt was due): a retry fires at once.
        result = await conn.execute(
            """
            UPDATE timers SET attempts = $2, last_error = $3,
                status = CASE WHEN $4 THEN 'failed' ELSE 'pending' END,
                due_at = CASE WHEN $4 THEN due_at ELSE $5 END
            WHERE id = $1 AND status = 'pending' AND attempts = $6 AND due_at = $7
            """,
            timer.id, attempts, repr(exc)[:2000], give_up, now + timedelta(seconds=2**attempts),
            timer.attempts, timer.due_at,
        )
        if not result.endswith(" 1"):
            log.warning("timer handler failed; not charged: the timer changed meanwhile", kind=timer.kind,
                        key=timer.key, error=repr(exc))
            return None
        log.warning("timer handler failed", kind=timer.kind, key=timer.key, attempts=attempts,
                    error=repr(exc), giving_up=give_up)
        return "failed" if give_up else "retry"
