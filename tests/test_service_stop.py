"""A service stops within a bound, whatever a bug left behind (a pod stuck Terminating, a test hung forever)."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from patrol.bootstrap import bootstrap
from patrol.settings import PatrolSettings
from pingan_shared.clock import FixedClock
from pingan_shared.service import ServiceRuntime
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import SAMPLE_TIME, eventually, in_process


async def started_patrol(database_url: str, platform_settings: PlatformSettings) -> ServiceRuntime:
    """patrol's runtime, started, with a short grace so a hang shows in seconds."""
    service = bootstrap(platform=platform_settings, settings=PatrolSettings(database_url=database_url),
                        clock=FixedClock(SAMPLE_TIME))
    in_process(service)
    runtime = service.runtime
    runtime.stop_grace_seconds = 1.0
    await runtime.start()
    return runtime


async def test_a_connection_never_handed_back_does_not_hang_the_stop(
    database_url: str, platform_settings: PlatformSettings
) -> None:
    runtime = await started_patrol(database_url, platform_settings)
    leaked = await runtime.pool.acquire()  # a code path that lost its connection: pool.close() waited forever
    pid = await leaked.fetchval("SELECT pg_backend_pid()")
    started = time.monotonic()
    await asyncio.wait_for(runtime.stop(), 30)
    assert time.monotonic() - started < 15

    async def session_gone() -> bool:  # terminated, not left holding a session (and its locks) on the server
        conn = await asyncpg.connect(database_url)
        try:
            return not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
        finally:
            await conn.close()

    await eventually(session_gone, timeout=10, what="the leaked connection's session to end")


async def test_a_background_loop_that_ignores_cancellation_does_not_hang_the_stop(
    database_url: str, platform_settings: PlatformSettings
) -> None:
    runtime = await started_patrol(database_url, platform_settings)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # a loop that swallows its cancellation (a bug, or a library race)

    runtime._spawn("stubborn", stubborn())
    started = time.monotonic()
    await asyncio.wait_for(runtime.stop(), 30)
    assert time.monotonic() - started < 15
    release.set()
    await asyncio.sleep(0)
