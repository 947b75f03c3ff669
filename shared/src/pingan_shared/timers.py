"""Durable timers: business deadlines stored in PostgreSQL. This module is what a use case calls (``schedule``,
``schedule_many``, ``cancel``) and what a handler is (``TimerHandler``, ``Batched``); ``timer_runner`` fires them.

A timer is (kind, key, due_at, payload). ``TimerRunner`` fires due timers with
``FOR UPDATE SKIP LOCKED``, running the handler and marking the timer fired in one transaction, so
any number of replicas fire each timer exactly once — also a timer whose due time passed while
every replica was down. The handler typically changes state and writes outbox events.

A handler may re-arm its own timer (``schedule()`` for its kind and key: the next step of an
escalation ladder); it then stays pending for its new due time. Only the handler's own failures use
up attempts — an error it raises, or running past ``handler_timeout_seconds`` (kept well below the
server's ``idle_in_transaction_session_timeout``, so a handler waiting on a gateway is stopped before
the server ends the batch's session). A deadlock, a serialization failure or a database outage leave
the timer exactly as it was, to fire later.

A connection lost while a handler runs takes its batch's transaction with it: every timer in the batch
is as before and none is charged (the database may have restarted). The timer that was running is then
suspect: from then on this runner fires it alone, in a transaction of its own, committing the timers
before it first, so its neighbours neither wait behind it nor run again. Losing its connection when alone
is charged as its own failure (in a transaction of its own, after the loss), unless no connection can be
had at all: that is an outage. A timer whose attempts are used up is ``failed``: it is logged, counted
in ``pingan_timers_failed`` and listed by ``pingan timers failed`` until someone retries it
(``pingan timers retry``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Timer:
    id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int


# Runs in a savepoint of its batch's transaction, its timer's row already marked fired, for at most the
# runner's handler_timeout_seconds: schedule() for its own kind and key re-arms it. Raising undoes all it
# wrote; its own error (or running past the timeout) uses up an attempt, while a deadlock, a serialization
# failure or the database away (DatabaseUnavailable) defers the timer without one. A handler that loses its
# connection loses the batch's transaction with it: see the module's docstring.
TimerHandler = Callable[[asyncpg.Connection, Timer], Awaitable[None]]
BatchTimerHandler = Callable[[asyncpg.Connection, Sequence[Timer]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A handler that can also fire many due timers of its kind at once (``many``, in due order), in one
    savepoint of the batch's transaction, their rows marked fired in one statement: a kind whose handler
    does the same few statements for each timer (an escalation step) then does them once per batch. Called
    with one timer it is ``one``. If ``many`` raises, its savepoint is rolled back and each timer fires on its
    own with ``one`` as any handler does, so a failure is charged to the timer that causes it alone."""

    one: TimerHandler
    many: BatchTimerHandler

    async def __call__(self, conn: asyncpg.Connection, timer: Timer) -> None:
        await self.one(conn, timer)


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
