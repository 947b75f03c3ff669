"""Durable timers under the faults that must not cost them: a handler re-arming its own timer, a
deadlock, a terminated session, and a handler that keeps failing (which must stay visible)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg
import pytest

from pingan_shared.clock import FixedClock
from pingan_shared.db.errors import CONNECTION_LOST
from pingan_shared.metrics import Metrics
from pingan_shared.timers import Timer, TimerRunner, failed_timers, retry_failed, schedule
from pingan_stack.testing import SAMPLE_TIME


async def _record(conn: asyncpg.Connection, timer: Timer) -> None:
    await conn.execute(
        "INSERT INTO fired (timer_key, times) VALUES ($1, 1) "
        "ON CONFLICT (timer_key) DO UPDATE SET times = fired.times + 1",
        timer.key,
    )


async def _fired(pool: asyncpg.Pool) -> dict[str, int]:
    return {r["timer_key"]: r["times"] for r in await pool.fetch("SELECT timer_key, times FROM fired")}


async def _timers(pool: asyncpg.Pool) -> dict[str, tuple[str, int]]:
    rows = await pool.fetch("SELECT timer_key, status, attempts FROM timers")
    return {r["timer_key"]: (r["status"], r["attempts"]) for r in rows}


@pytest.fixture
async def fired_table(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE fired (timer_key text PRIMARY KEY, times int NOT NULL)")


@pytest.mark.usefixtures("fired_table")
async def test_a_handler_that_re_arms_its_own_timer_keeps_it_pending(pool: asyncpg.Pool) -> None:
    # an escalation ladder: notice, then listed supervision an hour later, then a summons interview
    clock = FixedClock(SAMPLE_TIME)

    async def escalate(conn: asyncpg.Connection, timer: Timer) -> None:
        await _record(conn, timer)
        step = timer.payload["step"]
        if step < 3:
            await schedule(conn, timer.kind, timer.key, timer.due_at + timedelta(hours=1), {"step": step + 1})

    runner = TimerRunner(pool, clock, {"escalate": escalate}, Metrics("t"))
    async with pool.acquire() as conn:
        await schedule(conn, "escalate", "finding-7", SAMPLE_TIME, {"step": 1})

    assert await runner.fire_due() == 1
    row = await pool.fetchrow("SELECT status, due_at, payload, attempts FROM timers")
    assert (row["status"], row["due_at"], row["payload"], row["attempts"]) == (
        "pending", SAMPLE_TIME + timedelta(hours=1), {"step": 2}, 0)
    assert await runner.fire_due() == 0  # not before its new due time
    for _ in range(2):
        clock.advance(timedelta(hours=1))
        assert await runner.fire_due() == 1
    assert await pool.fetchval("SELECT status FROM timers") == "fired"
    assert await _fired(pool) == {"finding-7": 3}
    clock.advance(timedelta(days=1))
    assert await runner.fire_due() == 0


@pytest.mark.usefixtures("fired_table")
async def test_a_handler_re_arming_at_the_same_due_time_and_payload_still_re_arms(pool: asyncpg.Pool) -> None:
    # nothing in the row's content tells this re-arm apart from "not touched": only what schedule() did
    clock = FixedClock(SAMPLE_TIME)
    calls = 0

    async def once_more(conn: asyncpg.Connection, timer: Timer) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await schedule(conn, timer.kind, timer.key, timer.due_at, timer.payload)

    runner = TimerRunner(pool, clock, {"due": once_more}, Metrics("t"))
    async with pool.acquire() as conn:
        await schedule(conn, "due", "k", SAMPLE_TIME)
    assert await runner.fire_due() == 1
    assert await pool.fetchval("SELECT status FROM timers") == "pending"
    assert await runner.fire_due() == 1
    assert (calls, await pool.fetchval("SELECT status FROM timers")) == (2, "fired")


async def _wait_until_blocked_on_a_lock(pool: asyncpg.Pool, pid: int) -> None:
    for _ in range(3000):
        if await pool.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid) == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for the lock")


@pytest.mark.usefixtures("fired_table")
async def test_a_deadlocked_handler_costs_no_attempt_and_its_batch_goes_on(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await pool.execute("CREATE TABLE rows_to_lock (id int PRIMARY KEY); INSERT INTO rows_to_lock VALUES (1), (2)")
    clock = FixedClock(SAMPLE_TIME)
    holding_row_1, go_on = asyncio.Event(), asyncio.Event()
    deadlocked = False

    async def handler(conn: asyncpg.Connection, timer: Timer) -> None:
        nonlocal deadlocked
        if timer.key == "victim" and not deadlocked:
            deadlocked = True
            # this side detects the deadlock (and is its victim): its check runs long before the other's
            await conn.execute("SET LOCAL deadlock_timeout = '50ms'")
            await conn.execute("SELECT 1 FROM rows_to_lock WHERE id = 1 FOR UPDATE")
            holding_row_1.set()
            await go_on.wait()
            await conn.execute("SELECT 1 FROM rows_to_lock WHERE id = 2 FOR UPDATE")
        await _record(conn, timer)

    runner = TimerRunner(pool, clock, {"due": handler}, Metrics("t"), max_attempts=1)
    async with pool.acquire() as conn:
        for minutes, key in enumerate(["before", "victim", "after"]):
            await schedule(conn, "due", key, SAMPLE_TIME - timedelta(minutes=10 - minutes))

    other = await asyncpg.connect(database_url, server_settings={"deadlock_timeout": "1h"})
    try:
        other_tx = other.transaction()
        await other_tx.start()
        await other.execute("SELECT 1 FROM rows_to_lock WHERE id = 2 FOR UPDATE")
        firing = asyncio.create_task(runner.fire_due())
        await holding_row_1.wait()
        other_waits = asyncio.create_task(other.execute("SELECT 1 FROM rows_to_lock WHERE id = 1 FOR UPDATE"))
        await _wait_until_blocked_on_a_lock(pool, other.get_server_pid())
        go_on.set()
        assert await firing == 3
        await other_waits  # the victim's locks went with its savepoint
        await other_tx.rollback()
    finally:
        await other.close()

    # a deadlock says nothing about the timer: no attempt used (one was all it had), no failure
    assert await _timers(pool) == {"before": ("fired", 1), "victim": ("pending", 0), "after": ("fired", 1)}
    assert await _fired(pool) == {"before": 1, "after": 1}
    assert await runner.fire_due() == 1
    assert await runner.fire_due() == 0
    assert await _fired(pool) == {"before": 1, "victim": 1, "after": 1}
    assert (await _timers(pool))["victim"] == ("fired", 1)


@pytest.mark.usefixtures("fired_table")
async def test_a_session_terminated_mid_handler_costs_no_attempt_and_every_timer_fires_once(
    pool: asyncpg.Pool,
) -> None:
    clock = FixedClock(SAMPLE_TIME)
    backend: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def handler(conn: asyncpg.Connection, timer: Timer) -> None:
        await _record(conn, timer)
        if timer.key == "victim" and not backend.done():
            backend.set_result(await conn.fetchval("SELECT pg_backend_pid()"))
            await conn.execute("SELECT pg_sleep(600)")

    runner = TimerRunner(pool, clock, {"due": handler}, Metrics("t"), max_attempts=1)
    async with pool.acquire() as conn:
        for minutes, key in enumerate(["before", "victim", "after"]):
            await schedule(conn, "due", key, SAMPLE_TIME - timedelta(minutes=10 - minutes))

    firing = asyncio.create_task(runner.fire_due())
    assert await pool.fetchval("SELECT pg_terminate_backend($1)", await backend)
    with pytest.raises(CONNECTION_LOST):  # the batch's transaction is gone, "before" with it
        await firing

    assert await _timers(pool) == {"before": ("pending", 0), "victim": ("pending", 0), "after": ("pending", 0)}
    assert await _fired(pool) == {}
    assert await runner.fire_due() == 3
    assert await _fired(pool) == {"before": 1, "victim": 1, "after": 1}
    assert set((await _timers(pool)).values()) == {("fired", 1)}


@pytest.mark.usefixtures("fired_table")
async def test_a_handlers_own_network_error_is_its_failure_and_never_stalls_the_others(pool: asyncpg.Pool) -> None:
    # an SMS gateway that refuses connections is not "the database is away": counting it lets the
    # other timers fire, where retrying the whole batch would stall them behind the earliest due one
    clock = FixedClock(SAMPLE_TIME)

    async def notify(conn: asyncpg.Connection, timer: Timer) -> None:
        if timer.key == "gateway-down":
            raise ConnectionRefusedError("sms gateway refused the connection")
        await _record(conn, timer)

    runner = TimerRunner(pool, clock, {"notify": notify}, Metrics("t"), max_attempts=3)
    async with pool.acquire() as conn:
        await schedule(conn, "notify", "gateway-down", SAMPLE_TIME - timedelta(minutes=5))
        await schedule(conn, "notify", "fine", SAMPLE_TIME)
    assert await runner.fire_due() == 2
    assert await _timers(pool) == {"gateway-down": ("pending", 1), "fine": ("fired", 1)}
    assert await _fired(pool) == {"fine": 1}


def _gauge(metrics: Metrics, kind: str) -> float | None:
    return metrics.registry.get_sample_value("pingan_timers_failed", {"kind": kind})


async def test_a_timer_that_fails_for_good_is_counted_until_retried(pool: asyncpg.Pool) -> None:
    clock = FixedClock(SAMPLE_TIME)
    broken = True

    async def deliver(conn: asyncpg.Connection, timer: Timer) -> None:
        if broken:
            raise RuntimeError("template for 约谈 notices is missing")

    metrics = Metrics("t")
    runner = TimerRunner(pool, clock, {"deliver": deliver, "other": deliver}, metrics, max_attempts=1,
                         poll_seconds=0.01)
    async with pool.acquire() as conn:
        await schedule(conn, "deliver", "notice-3", SAMPLE_TIME)

    running = asyncio.create_task(runner.run())
    try:
        for _ in range(3000):
            if _gauge(metrics, "deliver") == 1:
                break
            await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert (_gauge(metrics, "deliver"), _gauge(metrics, "other")) == (1, 0)
    assert metrics.registry.get_sample_value("pingan_timers_fired_total",
                                             {"kind": "deliver", "outcome": "failed"}) == 1

    async with pool.acquire() as conn:
        [failed] = await failed_timers(conn, limit=10)
        assert (failed.kind, failed.key, failed.attempts, failed.due_at) == ("deliver", "notice-3", 1, SAMPLE_TIME)
        assert "template for 约谈 notices is missing" in (failed.last_error or "")
        assert await retry_failed(conn, failed.id)
        assert not await retry_failed(conn, failed.id)  # pending now, not failed
    broken = False
    assert await runner.fire_due() == 1  # at once: the clock has not moved
    await runner.count_failed()
    assert _gauge(metrics, "deliver") == 0
    assert await pool.fetchval("SELECT status FROM timers") == "fired"
