"""Durable timers against real PostgreSQL: once across replicas, and after a restart past due."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from pingan_shared.clock import FixedClock
from pingan_shared.metrics import Metrics
from pingan_shared.timer_runner import TimerRunner
from pingan_shared.timers import Batched, Timer, cancel, schedule, schedule_many
from pingan_stack.testing import SAMPLE_TIME


async def _record(conn: asyncpg.Connection, timer: Timer) -> None:
    await conn.execute(
        "INSERT INTO fired (timer_key, times) VALUES ($1, 1) "
        "ON CONFLICT (timer_key) DO UPDATE SET times = fired.times + 1",
        timer.key,
    )


async def test_two_replicas_fire_each_timer_exactly_once(database_url: str, pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE fired (timer_key text PRIMARY KEY, times int NOT NULL)")
    clock = FixedClock(SAMPLE_TIME)
    async with pool.acquire() as conn:
        for i in range(300):
            await schedule(conn, "rectification-due", f"finding-{i}", SAMPLE_TIME - timedelta(minutes=i % 7))
        await schedule(conn, "rectification-due", "not-yet", SAMPLE_TIME + timedelta(days=14))

    # two replicas: separate pools, small batches so they really contend for the same rows
    second_pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert second_pool is not None
    try:
        replicas = [
            TimerRunner(p, clock, {"rectification-due": _record}, Metrics(f"r{n}"), batch_size=7)
            for n, p in enumerate([pool, second_pool])
        ]

        async def drain(runner: TimerRunner) -> int:
            total = 0
            while taken := await runner.fire_due():
                total += taken
            return total

        fired_by = await asyncio.gather(*(drain(r) for r in replicas for _ in range(3)))
    finally:
        await second_pool.close()
    assert sum(fired_by) == 300
    assert await pool.fetchval("SELECT count(*) FROM fired") == 300
    assert await pool.fetchval("SELECT max(times) FROM fired") == 1
    assert await pool.fetchval("SELECT status FROM timers WHERE timer_key = 'not-yet'") == "pending"


async def test_a_timer_due_while_everything_was_down_fires_on_start(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE fired (timer_key text PRIMARY KEY, times int NOT NULL)")
    clock = FixedClock(SAMPLE_TIME)
    async with pool.acquire() as conn:
        await schedule(conn, "escalate", "alert-1", SAMPLE_TIME + timedelta(hours=2))
    runner = TimerRunner(pool, clock, {"escalate": _record}, Metrics("t"))
    assert await runner.fire_due() == 0
    clock.advance(timedelta(days=3))  # "restart" long after the due time
    assert await TimerRunner(pool, clock, {"escalate": _record}, Metrics("t")).fire_due() == 1
    assert await pool.fetchval("SELECT times FROM fired WHERE timer_key = 'alert-1'") == 1
    assert await runner.fire_due() == 0


async def test_cancel_and_reschedule(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE fired (timer_key text PRIMARY KEY, times int NOT NULL)")
    clock = FixedClock(SAMPLE_TIME)
    runner = TimerRunner(pool, clock, {"due": _record}, Metrics("t"))
    async with pool.acquire() as conn:
        await schedule(conn, "due", "a", SAMPLE_TIME)
        assert await cancel(conn, "due", "a")
        assert not await cancel(conn, "due", "a")
    assert await runner.fire_due() == 0
    async with pool.acquire() as conn:
        await schedule(conn, "due", "a", SAMPLE_TIME)  # re-arming a cancelled timer
    assert await runner.fire_due() == 1


async def test_failing_handler_retries_with_backoff_then_gives_up(pool: asyncpg.Pool) -> None:
    clock = FixedClock(SAMPLE_TIME)
    calls = 0

    async def broken(conn: asyncpg.Connection, timer: Timer) -> None:
        nonlocal calls
        calls += 1
        await conn.execute("CREATE TABLE side_effect (x int)")  # rolled back with the savepoint
        raise RuntimeError("downstream bug")

    runner = TimerRunner(pool, clock, {"due": broken}, Metrics("t"), max_attempts=3)
    async with pool.acquire() as conn:
        await schedule(conn, "due", "x", SAMPLE_TIME)
    for _ in range(5):
        await runner.fire_due()
        clock.advance(timedelta(minutes=1))
    assert calls == 3
    row = await pool.fetchrow("SELECT status, attempts, last_error FROM timers WHERE timer_key = 'x'")
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert "downstream bug" in row["last_error"]
    assert await pool.fetchval("SELECT to_regclass('side_effect')") is None



async def test_schedule_many_arms_and_re_arms_like_schedule(pool: asyncpg.Pool) -> None:
    due = SAMPLE_TIME + timedelta(days=14)
    async with pool.acquire() as conn:
        await schedule(conn, "k", "fired-one", due)
        await conn.execute("UPDATE timers SET status = 'fired' WHERE timer_key = 'fired-one'")
        await schedule_many(conn, [("k", "a", due, {"n": 1}), ("k", "fired-one", due, None),
                                   ("k", "a", due + timedelta(hours=1), {"n": 2})])
        await schedule_many(conn, [])
        rows = {r["timer_key"]: r for r in await conn.fetch("SELECT * FROM timers WHERE kind = 'k'")}
    assert set(rows) == {"a", "fired-one"}
    assert rows["a"]["due_at"] == due + timedelta(hours=1) and rows["a"]["payload"] == {"n": 2}
    assert rows["fired-one"]["status"] == "pending"


async def test_a_batched_kind_fires_its_due_timers_together_and_a_failing_batch_one_by_one(
        pool: asyncpg.Pool) -> None:
    """``Batched``: the runner hands a run of due timers of the kind to ``many`` at once (their rows fired in
    one statement, each fired once, in due order, beside another kind's timers). If ``many`` raises, nothing it
    wrote stays and each timer fires alone with ``one``: only the timer whose handler fails is charged."""
    await pool.execute("CREATE TABLE fired (timer_key text PRIMARY KEY, times int NOT NULL)")
    clock = FixedClock(SAMPLE_TIME)
    batches: list[list[str]] = []
    failing = {"batch": False}

    async def many(conn: asyncpg.Connection, timers: Sequence[Timer]) -> None:
        batches.append([t.key for t in timers])
        for timer in timers:
            await _record(conn, timer)
        if failing["batch"]:
            raise RuntimeError("a bug in the batch")

    async def one(conn: asyncpg.Connection, timer: Timer) -> None:
        if timer.key == "bad":
            raise RuntimeError("this timer's own bug")
        await _record(conn, timer)

    runner = TimerRunner(pool, clock, {"step": Batched(one, many), "other": _record}, Metrics("t"))
    async with pool.acquire() as conn:
        await schedule_many(conn, [("step", f"s{n}", SAMPLE_TIME + timedelta(seconds=n), None) for n in range(5)])
        await schedule(conn, "other", "o", SAMPLE_TIME + timedelta(seconds=10))
    clock.advance(timedelta(minutes=1))
    assert await runner.fire_due() == 6
    assert batches == [["s0", "s1", "s2", "s3", "s4"]]
    assert await pool.fetchval("SELECT count(*) FROM fired WHERE times = 1") == 6
    assert await pool.fetchval("SELECT count(*) FROM timers WHERE status = 'fired'") == 6
    assert await runner.fire_due() == 0

    failing["batch"] = True
    async with pool.acquire() as conn:
        await schedule_many(conn, [("step", key, clock.now(), None) for key in ("b1", "bad", "b2")])
    assert await runner.fire_due() == 3
    assert batches[-1] == ["b1", "bad", "b2"]
    rows = {r["timer_key"]: r for r in await pool.fetch(
        "SELECT timer_key, status, attempts FROM timers WHERE timer_key = ANY($1::text[])", ["b1", "bad", "b2"])}
    assert {k: (r["status"], r["attempts"]) for k, r in rows.items()} == {
        "b1": ("fired", 1), "b2": ("fired", 1), "bad": ("pending", 1)}
    assert await pool.fetchval("SELECT count(*) FROM fired WHERE timer_key = ANY($1::text[]) AND times = 1",
                               ["b1", "b2"]) == 2
    assert await pool.fetchval("SELECT count(*) FROM fired WHERE timer_key = 'bad'") == 0


async def test_a_runner_polling_once_an_hour_fires_at_once_when_a_timer_is_armed_or_the_clock_moves(
        pool: asyncpg.Pool) -> None:
    """The runner sleeps between polls, but a timer armed in its database (NOTIFY timers, platform migration 0006)
    and a test clock moving past a due time wake it: neither waits for the hour."""
    await pool.execute("CREATE TABLE fired (timer_key text PRIMARY KEY, times int NOT NULL)")
    clock = FixedClock(SAMPLE_TIME)
    runner = TimerRunner(pool, clock, {"due": _record}, Metrics("wake"), poll_seconds=3600)
    running = asyncio.create_task(runner.run())

    async def fired(key: str) -> bool:
        return await pool.fetchval("SELECT times FROM fired WHERE timer_key = $1", key) == 1

    async def within(seconds: float, key: str) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while not await fired(key):
            assert asyncio.get_running_loop().time() < deadline, f"{key} did not fire within {seconds} s"
            await asyncio.sleep(0.02)

    try:
        await asyncio.sleep(0.3)  # the runner's first poll is over: from now on it sleeps for the hour
        async with pool.acquire() as conn:
            await schedule(conn, "due", "armed-due-now", SAMPLE_TIME)
            await schedule(conn, "due", "due-in-a-day", SAMPLE_TIME + timedelta(days=1))
        await within(5, "armed-due-now")
        assert not await fired("due-in-a-day")
        clock.advance(timedelta(days=1))
        await within(5, "due-in-a-day")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    # the listening connection went back to the pool (it closes without waiting for it)
    await asyncio.wait_for(pool.close(), 10)


class _RunningClock:
    """Real time from SAMPLE_TIME on, and no ``on_move``: a runner on it must wake by itself when a timer falls due."""

    def __init__(self) -> None:
        self._started = asyncio.get_running_loop().time()

    def now(self) -> datetime:
        return SAMPLE_TIME + timedelta(seconds=asyncio.get_running_loop().time() - self._started)


async def test_a_runner_polling_once_an_hour_wakes_when_the_next_timer_falls_due(pool: asyncpg.Pool) -> None:
    """Between polls the runner sleeps until the earliest pending timer's due time, not for the whole poll: a timer
    armed for half a second from now fires then, not in an hour (a lone escalation step waited for the poll)."""
    await pool.execute("CREATE TABLE fired (timer_key text PRIMARY KEY, times int NOT NULL)")
    clock = _RunningClock()
    runner = TimerRunner(pool, clock, {"due": _record}, Metrics("next-due"), poll_seconds=3600)
    async with pool.acquire() as conn:
        await schedule(conn, "due", "soon", clock.now() + timedelta(seconds=0.5))
    running = asyncio.create_task(runner.run())
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while await pool.fetchval("SELECT times FROM fired WHERE timer_key = 'soon'") != 1:
            assert asyncio.get_running_loop().time() < deadline, "the timer waited for the hour's poll"
            await asyncio.sleep(0.05)
        assert await pool.fetchval("SELECT fired_at FROM timers WHERE timer_key = 'soon'") >= SAMPLE_TIME
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
