"""A timer runner whose LISTEN connection dies while the database refuses new connections (PostgreSQL
restarting) listens again once it can, and fires what falls due: it once kept asking the dead connection's pool
proxy whether it was closed (InterfaceError every round), and no timer fired until the process restarted (found
by `pingan simulate --chaos`)."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from pingan_shared.clock import FixedClock
from pingan_shared.db.pool import create_pool
from pingan_shared.metrics import Metrics
from pingan_shared.timer_runner import TimerRunner
from pingan_shared.timers import Timer, schedule
from pingan_stack.testing import SAMPLE_TIME, eventually


async def test_a_runner_whose_listener_died_with_the_database_away_fires_again_once_it_is_back(
    pool: asyncpg.Pool, database_url: str, postgres_server_url: str
) -> None:
    clock = FixedClock(SAMPLE_TIME)
    database = await pool.fetchval("SELECT current_database()")
    admin = await asyncpg.connect(postgres_server_url)  # another database: ours is the one that goes away
    fired: list[str] = []

    async def handler(conn: asyncpg.Connection, timer: Timer) -> None:
        fired.append(timer.key)

    runner_pool = await create_pool(database_url, min_size=1, max_size=2)
    runner = TimerRunner(runner_pool, clock, {"due": handler}, Metrics("t"), poll_seconds=0.1)
    task = asyncio.create_task(runner.run())

    async def listening() -> int | None:
        return await admin.fetchval("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
                                    database)

    try:
        await eventually(listening, timeout=10, what="the runner's LISTEN connection")
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        await admin.fetchval(  # every session of ours ends, and no new one may start for a while
            "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE datname = $1", database)
        await asyncio.sleep(1.0)  # rounds that find the listener closed and cannot listen again
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        arming = await create_pool(database_url, min_size=1, max_size=1)  # the fixture's pool lost its sessions
        try:
            async with arming.acquire() as conn:
                await schedule(conn, "due", "after-the-outage", SAMPLE_TIME)
        finally:
            await arming.close()

        async def has_fired() -> bool:
            return fired == ["after-the-outage"]

        await eventually(has_fired, timeout=10, what="the timer armed after the database came back")
        assert await listening(), "the runner listens again"
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner_pool.close()
