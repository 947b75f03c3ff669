"""Durable timers under the faults that must not cost them: a handler re-arming its own timer, a
deadlock, a terminated session, and a handler that keeps failing (which must stay visible): by raising,
by running past its timeout, or by losing its connection every time (which must not cost its neighbours)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg
import pytest

from pingan_shared.clock import FixedClock
from pingan_shared.db.errors import CONNECTION_LOST, DatabaseUnavailable
from pingan_shared.db.pool import ConnectionLiveness, create_pool
from pingan_shared.metrics import Metrics
from pingan_shared.settings import ServiceSettings
from pingan_shared.timer_failures import failed_timers, retry_failed
from pingan_shared.timer_runner import DEFAULT_HANDLER_TIMEOUT_SECONDS, TimerRunner
from pingan_shared.timers import Timer, schedule
from pingan_stack.testing import SAMPLE_TIME, eventually


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


def _fired_total(metrics: Metrics, kind: str, outcome: str) -> float | None:
    return metrics.registry.get_sample_value("pingan_timers_fired_total", {"kind": kind, "outcome": outcome})


async def _fire_tolerating_lost_batches(runner: TimerRunner) -> int | None:
    """One poll as ``run()`` does it: a lost batch is logged there and retried at the next poll."""
    try:
        return await runner.fire_due()
    except CONNECTION_LOST:
        return None


@pytest.mark.usefixtures("fired_table")
async def test_a_handler_whose_session_is_ended_every_time_costs_its_neighbours_nothing(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The reviewer's case: a handler waiting on something outside the database past the server's
    idle_in_transaction_session_timeout, every time. Its neighbours fire once; it is charged and ends failed."""
    clock = FixedClock(SAMPLE_TIME)
    ran: list[str] = []  # what the handlers did outside the database (an SMS sent, say)

    async def gone(pid: int) -> bool:
        return not await pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)

    async def handler(conn: asyncpg.Connection, timer: Timer) -> None:
        ran.append(timer.key)
        if timer.key == "slow":
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            # waits outside the database, idle in its transaction, until the server has ended the session
            await eventually(lambda: gone(pid), timeout=60, what="the idle session to be ended")
        await _record(conn, timer)

    short_idle = await create_pool(database_url, max_size=3,
                                   liveness=ConnectionLiveness(idle_in_transaction_timeout=timedelta(seconds=1)))
    metrics = Metrics("t")
    runner = TimerRunner(short_idle, clock, {"due": handler}, metrics, max_attempts=2)
    try:
        async with pool.acquire() as conn:
            for minutes, key in enumerate(["g1", "slow", "g2"]):
                await schedule(conn, "due", key, SAMPLE_TIME - timedelta(minutes=10 - minutes))
        for _ in range(3):
            await _fire_tolerating_lost_batches(runner)

        # the first batch was lost with "slow"'s session; after it g1 and g2 fired once each
        assert ran.count("g1") == 2 and ran.count("g2") == 1, ran
        assert await _fired(pool) == {"g1": 1, "g2": 1}
        assert await _timers(pool) == {"g1": ("fired", 1), "slow": ("pending", 1), "g2": ("fired", 1)}
        assert _fired_total(metrics, "due", "fired") == 2  # counted once committed, never for the lost batch
        assert _fired_total(metrics, "due", "retry") == 1

        clock.advance(timedelta(minutes=1))  # past its backoff: alone again, charged again, failed for good
        assert await runner.fire_due() == 1
        assert ran.count("slow") == 3 and ran.count("g1") == 2 and ran.count("g2") == 1, ran
        assert await _timers(pool) == {"g1": ("fired", 1), "slow": ("failed", 2), "g2": ("fired", 1)}
        assert "connection was lost while its handler ran" in (
            await pool.fetchval("SELECT last_error FROM timers WHERE timer_key = 'slow'") or "")
        assert _fired_total(metrics, "due", "failed") == 1
    finally:
        await short_idle.close()


@pytest.mark.usefixtures("fired_table")
async def test_a_handler_that_breaks_its_connection_every_time_fails_without_stalling_the_others(
    pool: asyncpg.Pool,
) -> None:
    # a handler bug that asyncpg reports as InterfaceError: the runner cannot tell it from a lost
    # connection, so the batch goes; alone, the timer is charged like any other failure of its own
    clock = FixedClock(SAMPLE_TIME)
    ran: list[str] = []

    async def handler(conn: asyncpg.Connection, timer: Timer) -> None:
        ran.append(timer.key)
        if timer.key == "buggy":
            raise asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
        await _record(conn, timer)

    runner = TimerRunner(pool, clock, {"due": handler}, Metrics("t"), max_attempts=1)
    async with pool.acquire() as conn:
        for minutes, key in enumerate(["a", "buggy", "b", "c"]):
            await schedule(conn, "due", key, SAMPLE_TIME - timedelta(minutes=10 - minutes))
    for _ in range(3):
        await _fire_tolerating_lost_batches(runner)
    assert ran == ["a", "buggy", "a", "buggy", "b", "c"]
    assert await _fired(pool) == {"a": 1, "b": 1, "c": 1}
    assert await _timers(pool) == {"a": ("fired", 1), "buggy": ("failed", 1), "b": ("fired", 1),
                                   "c": ("fired", 1)}


@pytest.mark.usefixtures("fired_table")
async def test_a_database_away_when_the_lone_timer_is_charged_costs_it_nothing(
    pool: asyncpg.Pool, database_url: str, postgres_server_url: str
) -> None:
    # the timer that lost its batch runs alone and loses its session again, but the database then
    # refuses connections: that is an outage, not the handler's failure, and no attempt is charged
    clock = FixedClock(SAMPLE_TIME)
    database = await pool.fetchval("SELECT current_database()")
    admin = await asyncpg.connect(postgres_server_url)  # another database: ours is the one that goes away
    calls = 0

    async def handler(conn: asyncpg.Connection, timer: Timer) -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            if calls == 2:  # alone now; the database goes away with the session
                await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            assert await admin.fetchval("SELECT pg_terminate_backend($1, 60000)", pid)  # waits till it is gone
            await conn.execute("SELECT 1")
        await _record(conn, timer)

    runner_pool = await create_pool(database_url, min_size=1, max_size=1)
    runner = TimerRunner(runner_pool, clock, {"due": handler}, Metrics("t"), max_attempts=1)
    try:
        async with pool.acquire() as conn:
            await schedule(conn, "due", "x", SAMPLE_TIME)
        with pytest.raises(CONNECTION_LOST):  # the batch, lost: never charged
            await runner.fire_due()
        with pytest.raises(DatabaseUnavailable):  # alone, lost again, and the database is away
            await runner.fire_due()
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        assert await _timers(pool) == {"x": ("pending", 0)}
        assert await runner.fire_due() == 1
        assert await _timers(pool) == {"x": ("fired", 1)}
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
        await runner_pool.close()


@pytest.mark.usefixtures("fired_table")
async def test_a_handler_past_its_timeout_is_its_own_failure_and_its_batch_goes_on(pool: asyncpg.Pool) -> None:
    # stopped before the server's idle_in_transaction_session_timeout could end the batch's session
    clock = FixedClock(SAMPLE_TIME)
    never = asyncio.Event()

    async def handler(conn: asyncpg.Connection, timer: Timer) -> None:
        if timer.key == "waits-outside":
            await never.wait()  # a gateway that never answers
        if timer.key == "waits-inside":
            await conn.execute("SELECT pg_sleep(600)")  # a query stuck on a lock, say
        await _record(conn, timer)

    runner = TimerRunner(pool, clock, {"due": handler}, Metrics("t"), max_attempts=3, handler_timeout_seconds=0.2)
    async with pool.acquire() as conn:
        for minutes, key in enumerate(["a", "waits-outside", "b", "waits-inside", "c"]):
            await schedule(conn, "due", key, SAMPLE_TIME - timedelta(minutes=10 - minutes))
    assert await runner.fire_due() == 5
    assert await _fired(pool) == {"a": 1, "b": 1, "c": 1}
    assert await _timers(pool) == {"a": ("fired", 1), "waits-outside": ("pending", 1), "b": ("fired", 1),
                                   "waits-inside": ("pending", 1), "c": ("fired", 1)}
    errors = {r["timer_key"]: r["last_error"] for r in await pool.fetch("SELECT timer_key, last_error FROM timers")}
    assert "ran past 0.2 s" in errors["waits-outside"] and "ran past 0.2 s" in errors["waits-inside"]


def test_a_handler_is_stopped_well_before_the_server_ends_its_idle_transaction() -> None:
    settings = ServiceSettings()
    assert settings.timer_handler_timeout_seconds * 2 <= settings.database_idle_in_transaction_timeout_seconds
    assert ConnectionLiveness().idle_in_transaction_timeout.total_seconds() >= DEFAULT_HANDLER_TIMEOUT_SECONDS * 2
