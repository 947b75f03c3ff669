"""Pool connections that cannot hold locks forever: a transaction left idle is ended by the server, and
keepalives let either side notice a peer that vanished (a half-open connection) within about a minute."""

from __future__ import annotations

import socket
from datetime import timedelta

import asyncpg

from pingan_shared.db.pool import ConnectionLiveness, create_pool
from pingan_shared.settings import ServiceSettings
from pingan_stack.testing import eventually

LOCK_ID = 0x7465_7374


async def test_pool_connections_carry_the_default_liveness_settings(database_url: str) -> None:
    pool = await create_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "1min"
            assert await conn.fetchval("SHOW tcp_keepalives_idle") == "30"
            assert await conn.fetchval("SHOW tcp_keepalives_interval") == "10"
            assert await conn.fetchval("SHOW tcp_keepalives_count") == "3"
            # the client's end probes too, so a relay notices a server that vanished
            sock = conn._transport.get_extra_info("socket")  # asyncpg exposes no public accessor
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
    finally:
        await pool.close()


def test_liveness_comes_from_the_service_settings() -> None:
    settings = ServiceSettings(database_idle_in_transaction_timeout_seconds=5, database_tcp_keepalives_idle_seconds=7,
                               database_tcp_keepalives_interval_seconds=2, database_tcp_keepalives_count=4)
    liveness = ConnectionLiveness.from_settings(settings)
    assert liveness.server_settings() == {
        "idle_in_transaction_session_timeout": "5000", "tcp_keepalives_idle": "7",
        "tcp_keepalives_interval": "2", "tcp_keepalives_count": "4",
    }


async def test_a_transaction_left_idle_is_ended_and_its_advisory_lock_taken_over(database_url: str) -> None:
    """A relay that stopped mid-transaction (its host vanished, it hangs) holds the relay's advisory lock;
    the server ends the idle transaction and another replica's connection then takes the lock."""
    pool = await create_pool(database_url, max_size=2,
                             liveness=ConnectionLiveness(idle_in_transaction_timeout=timedelta(seconds=1)))
    other = await asyncpg.connect(database_url)
    try:
        stuck = await pool.acquire()
        transaction = stuck.transaction()
        await transaction.start()
        assert await stuck.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK_ID)
        assert not await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_ID)

        async def lock_taken_over() -> bool:
            return bool(await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_ID))

        await eventually(lock_taken_over, timeout=30, what="the idle transaction's lock to be released")
        assert not await _still_usable(stuck)  # the server ended that session, not just the transaction
        await pool.release(stuck)
    finally:
        await other.close()
        await pool.close()


async def _still_usable(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
        return False
    return True
