"""`pingan simulate --chaos` against a real `pingan up` (embedded PostgreSQL and broker, the four services, its
supervisor), on a clock of a day in ten seconds: a small seeded city's night and a 211 cycle of one covert and one
rectification day, while each service, the broker and PostgreSQL are SIGKILLed once at seeded moments and
restarted by the supervisor. The reconciliation — every scan, flag, hazard, task, alert and notification against
what the city did — must balance exactly.

Costs about 70 s wall on 2 cores, most of it waiting: the stack's start ~12 s, the drive ~45 s (the wait for the
cycle's first midnight up to 10 s of it; each restart a second or two), the read-back a few seconds; about 25 s of
CPU in the test's process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from pingan_stack.embedded import free_port
from pingan_stack.simulate.run import Options, simulate
from pingan_stack.simulate.stack_state import read_state
from pingan_stack.testing import PINGAN_COMMAND
from pingan_stack.topology import PROCESSES

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

SCALE = 8640  # a day in ten seconds


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Path]:
    env = {f"{s.env_prefix}HTTP_PORT": str(free_port()) for s in PROCESSES}
    env |= {f"{s.env_prefix}METRICS_PORT": str(free_port()) for s in PROCESSES}
    env |= {"PINGAN_PG_PORT": str(free_port()), "PINGAN_KAFKA_PORT": str(free_port()), "KAFKA_BOOTSTRAP_SERVERS": "",
            "DATABASE_URL": "", "PINGAN_LOG_LEVEL": "WARNING", "PINGAN_AUTH_SIGNING_KEY_FILE": ""}
    data_dir = tmp_path / "data"
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen([*PINGAN_COMMAND, "up", "--data-dir", str(data_dir), "--clock-scale", str(SCALE)],
                               env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while read_state(data_dir) is None:
            assert process.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()[-3000:]
            time.sleep(0.2)
        yield data_dir
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_a_small_city_balances_through_a_night_and_a_211_cycle_with_every_process_killed(
    stack: Path, tmp_path: Path
) -> None:
    report = tmp_path / "simulate.txt"
    with report.open("w") as out:
        console = Console(file=out, width=200, color_system=None)
        code = simulate(Options(data_dir=stack, seed=5, chaos=True, covert_days=1, settle_seconds=60, live=False),
                        console)
    said = report.read_text()
    print(said)  # the reconciliation table: shown with -s, and in the failure report
    assert code == 0, said + (tmp_path / "up.log").read_text()[-5000:]
    for target in ("patrol", "roster", "inspection", "alerts", "kafka", "postgres"):
        assert f"SIGKILL {target} " in said, said
    assert "对账平衡 balanced" in said
