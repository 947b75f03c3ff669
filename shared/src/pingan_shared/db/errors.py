"""What "the database is away" looks like, in one place for every caller (HTTP, consumers).

Two kinds, told apart by when they happen:

* getting a connection fails: refused, starting up, shutting down, not accepting connections (a
  failover), too many clients. That never says anything about the work that wanted the connection,
  so ``connection()`` turns every such failure into ``DatabaseUnavailable``;
* a live connection is lost mid-work (``CONNECTION_LOST``): the server was restarted or the session
  was terminated.

Both mean "retry later"; neither may dead-letter a message or answer a client 4xx/500. So does a
transaction that lost a race (``RETRY_TRANSACTION``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


class DatabaseUnavailable(Exception):
    """No database connection could be had right now."""


CONNECTION_LOST: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    # A session terminated mid-transaction can leave asyncpg's protocol half-way through consuming the
    # server's error; the ROLLBACK or the pool's reset then fails with "cannot switch to state 15; another
    # operation (2) is in progress" (MagicStack/asyncpg#784, open). A client-state error, never the data's.
    asyncpg.exceptions.InternalClientError,
)


def is_closed(conn: asyncpg.Connection) -> bool:
    """Whether ``conn`` is closed. A pool's proxy that asyncpg detached from the connection the server ended answers
    ``is_closed()`` with InterfaceError: that is closed too (the timer runners failed every round on such a LISTEN
    connection after a PostgreSQL restart, and fired no timer again until their process restarted)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


# The transaction lost a race (deadlock, serialization failure): running it again is the cure.
RETRY_TRANSACTION: tuple[type[Exception], ...] = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
)


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """``pool.acquire()``, with any failure to connect raised as ``DatabaseUnavailable``. A connection
    lost mid-work is terminated rather than handed back to the pool in an unknown state."""
    try:
        conn = await pool.acquire()
    except Exception as exc:
        raise DatabaseUnavailable(f"no database connection: {exc!r}") from exc
    try:
        yield conn
    except CONNECTION_LOST:
        # asyncpg may already have detached a connection the server ended ("released back to the pool"):
        # terminate() then raises InterfaceError, which would replace the error that tells what happened
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()
        raise
    finally:
        await pool.release(conn)  # a terminated connection is recycled by the pool
