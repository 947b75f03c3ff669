"""`pingan timers failed` and `pingan timers retry` against a real service database."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from datetime import timedelta

import asyncpg
import pytest

from pingan_shared.clock import FixedClock
from pingan_shared.metrics import Metrics
from pingan_shared.timer_runner import TimerRunner
from pingan_shared.timers import Timer, schedule
from pingan_stack.endpoints import service_database
from pingan_stack.service_databases import CONNECT_TIMEOUT_SECONDS
from pingan_stack.testing import SAMPLE_TIME, run_pingan
from pingan_stack.topology import SERVICES

ALERTS = next(s for s in SERVICES if s.name == "alerts")


def pingan(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return run_pingan(*args, env={"ALERTS_DATABASE_URL": database_url})


async def test_a_failed_timer_is_listed_and_fires_once_retried(pool: asyncpg.Pool, database_url: str) -> None:
    clock = FixedClock(SAMPLE_TIME)
    delivered: list[str] = []

    async def deliver(conn: asyncpg.Connection, timer: Timer) -> None:
        if not delivered and timer.key == "notice-3":
            delivered.append("refused")
            raise RuntimeError("template for 约谈 notices is missing")
        delivered.append(timer.key)

    runner = TimerRunner(pool, clock, {"escalate": deliver}, Metrics("t"), max_attempts=1)
    async with pool.acquire() as conn:
        await schedule(conn, "escalate", "notice-3", SAMPLE_TIME - timedelta(hours=1), {"step": "约谈"})
        await schedule(conn, "escalate", "notice-4", SAMPLE_TIME)
    assert await runner.fire_due() == 2
    timer_id = await pool.fetchval("SELECT id FROM timers WHERE timer_key = 'notice-3'")

    listed = pingan("timers", "failed", "--service", "alerts", "--json", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert json.loads(line) == {
        "service": "alerts", "id": timer_id, "kind": "escalate", "key": "notice-3",
        "due_at": (SAMPLE_TIME - timedelta(hours=1)).isoformat(), "attempts": 1,
        "last_error": "RuntimeError('template for 约谈 notices is missing')", "payload": {"step": "约谈"},
    }
    human = pingan("timers", "failed", "--service", "alerts", database_url=database_url)
    assert human.stdout.startswith("alerts: 1 failed timer(s)\n"), human.stdout
    assert f"#{timer_id}  escalate notice-3" in human.stdout and "约谈 notices is missing" in human.stdout

    retried = pingan("timers", "retry", str(timer_id), "--service", "alerts", database_url=database_url)
    assert retried.returncode == 0, retried.stderr
    again = pingan("timers", "retry", str(timer_id), "--service", "alerts", database_url=database_url)
    assert again.returncode == 1 and f"no failed timer #{timer_id}" in again.stderr
    assert pingan("timers", "failed", "--service", "alerts", "--json", database_url=database_url).stdout == ""

    assert await runner.fire_due() == 1
    assert await runner.fire_due() == 0
    assert delivered == ["refused", "notice-4", "notice-3"]


def test_an_unreachable_database_is_reported_without_a_traceback() -> None:
    done = pingan("timers", "failed", "--service", "alerts",
                  database_url="postgresql://postgres:secret@127.0.0.1:1/pingan_alerts")
    assert done.returncode == 1
    assert "alerts: cannot read timers from postgresql://postgres:***@127.0.0.1:1/pingan_alerts" in done.stderr
    assert "Traceback" not in done.stderr and "secret" not in done.stderr
    unknown = pingan("timers", "failed", "--service", "nope", database_url="")
    assert unknown.returncode == 2 and "unknown service nope" in unknown.stderr


def test_each_service_database_is_found_as_pingan_up_sets_it() -> None:
    def service_database_url(environ: dict[str, str]) -> str:
        return service_database(ALERTS, environ).address

    own = {"ALERTS_DATABASE_URL": "postgresql://a@db:5432/alerts_here", "DATABASE_URL": "postgresql://s@srv:5433/x"}
    assert service_database_url(own) == "postgresql://a@db:5432/alerts_here"
    assert service_database_url({"DATABASE_URL": "postgresql://s:pw@srv:5433/postgres?sslmode=require"}) == (
        "postgresql://s:pw@srv:5433/pingan_alerts?sslmode=require")
    assert service_database_url({"PINGAN_PG_PORT": "6000"}) == "postgresql://postgres@127.0.0.1:6000/pingan_alerts"
    assert service_database_url({}) == "postgresql://postgres@127.0.0.1:54320/pingan_alerts"


@pytest.mark.parametrize(("command", "variable"), [
    (("outbox", "parked", "--service", "patrol"), "PATROL_DATABASE_URL"),
    (("timers", "retry", "1", "--service", "alerts"), "ALERTS_DATABASE_URL"),
])
def test_a_database_server_that_never_answers_is_reported_within_seconds(
    command: tuple[str, ...], variable: str,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never says a word
        url = f"postgresql://postgres:secret@127.0.0.1:{silent.getsockname()[1]}/pingan"
        started = time.monotonic()
        done = run_pingan(*command, env={variable: url})
        took = time.monotonic() - started
    assert done.returncode == 1 and "TimeoutError" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "secret" not in done.stderr
    assert took < CONNECT_TIMEOUT_SECONDS + 15, f"took {took:.1f} s"
