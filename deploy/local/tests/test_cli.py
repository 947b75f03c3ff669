"""The `pingan` command as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pingan_shared.auth import Role, verify_token
from pingan_shared.settings import DEV_AUTH_SECRET
from pingan_stack.embedded import free_port
from pingan_stack.testing import PINGAN_COMMAND, run_pingan
from pingan_stack.topology import SERVICES

PINGAN = list(PINGAN_COMMAND)


def test_token_issue_mints_a_token_the_services_accept() -> None:
    done = run_pingan("token", "issue", "--role", "patrol_device", "--subject", "设备-07", "--team", "安阳一队")
    assert done.returncode == 0, done.stderr
    principal = verify_token(DEV_AUTH_SECRET, done.stdout.strip(), now=datetime.now(UTC))
    assert (principal.role, principal.subject, principal.team_id) == (Role.PATROL_DEVICE, "设备-07", "安阳一队")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "patrol_device", "--subject", "d"], "needs --team"),
        (["--role", "unit", "--subject", "u"], "needs --unit"),
        (["--role", "emperor", "--subject", "x"], "emperor"),
        (["--role", "admin", "--subject", " "], "subject"),
    ],
)
def test_token_issue_refuses_bad_input(args: list[str], message: str) -> None:
    done = run_pingan("token", "issue", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_token_issue_refuses_the_dev_secret_in_production() -> None:
    done = run_pingan("token", "issue", "--role", "admin", "--subject", "a",
               env={"PINGAN_ENV": "prod", "PINGAN_AUTH_SECRET": DEV_AUTH_SECRET})
    assert done.returncode == 2
    assert "configuration error" in done.stderr and "published development secret" in done.stderr
    assert "Traceback" not in done.stderr


def test_events_schemas_are_printed_and_written(tmp_path: Path) -> None:
    printed = run_pingan("events", "schemas")
    assert "patrol.scan-accepted.v1" in json.loads(printed.stdout)
    written = run_pingan("events", "schemas", "--out", str(tmp_path))
    assert written.returncode == 0
    assert (tmp_path / "patrol.scan-accepted.v1.schema.json").exists()


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {f"{s.env_prefix}HTTP_PORT": str(free_port()) for s in SERVICES}
    env |= {"PINGAN_PG_PORT": str(free_port()), "PINGAN_KAFKA_PORT": str(free_port())}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
        env[name] = ""  # the embedded servers, whatever the test runner's environment says
    yield env


@pytest.mark.parametrize("servers", ["embedded", "external"])
def test_pingan_up_reaches_ready_and_stops_cleanly(
    tmp_path: Path, stack_env: dict[str, str], servers: str, request: pytest.FixtureRequest
) -> None:
    if servers == "external":  # the test session's servers stand in for a company's PostgreSQL and Kafka
        stack_env["DATABASE_URL"] = request.getfixturevalue("postgres_server_url")
        stack_env["KAFKA_BOOTSTRAP_SERVERS"] = request.getfixturevalue("kafka_bootstrap_servers")
        stack_env["KAFKA_TOPIC_PREFIX"] = f"up{os.getpid()}."
    process = subprocess.Popen([*PINGAN, "up", "--data-dir", str(tmp_path / "data")], env={**os.environ, **stack_env},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    output: list[str] = []
    started = time.monotonic()
    try:
        for line in process.stdout:
            output.append(line)
            if line.startswith("Pingan is ready"):
                break
        assert output and output[-1].startswith("Pingan is ready"), "".join(output[-40:])
        elapsed = time.monotonic() - started
        assert elapsed < 60, f"ready after {elapsed:.0f} s"
        said = "".join(output)
        if servers == "external":
            assert "PostgreSQL: external server" in said and "Kafka: external brokers" in said
            assert not (tmp_path / "data" / "pgdata").exists()
        else:
            assert "PostgreSQL: embedded" in said and "Kafka: embedded" in said
        for spec in SERVICES:
            url = f"http://127.0.0.1:{stack_env[f'{spec.env_prefix}HTTP_PORT']}"
            assert any(url in line for line in output), f"{spec.name} URL not printed"
            ready = httpx.get(f"{url}/ready", timeout=5)
            assert ready.status_code == 200, ready.text
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest[-3000:]
    assert "Stopped." in rest
    for spec in SERVICES:
        port = int(stack_env[f"{spec.env_prefix}HTTP_PORT"])
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_pingan_up_names_a_taken_port(tmp_path: Path, stack_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(stack_env["ROSTER_HTTP_PORT"])))
        holder.listen()
        done = subprocess.run([*PINGAN, "up", "--data-dir", str(tmp_path / "data")], capture_output=True, text=True,
                              timeout=60, env={**os.environ, **stack_env})
    assert done.returncode == 1
    assert f"roster (ROSTER_HTTP_PORT): port {stack_env['ROSTER_HTTP_PORT']}" in done.stderr


def test_a_service_names_its_taken_port(stack_env: dict[str, str]) -> None:
    import socket

    port = int(stack_env["ALERTS_HTTP_PORT"])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = subprocess.run([sys.executable, "-m", "alerts"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **stack_env})
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use (set ALERTS_HTTP_PORT)" in done.stderr


@pytest.mark.parametrize("secret", [None, DEV_AUTH_SECRET])
def test_a_service_refuses_to_start_in_production_with_the_default_secret(
    stack_env: dict[str, str], secret: str | None
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PINGAN_AUTH_SECRET"} | stack_env | {"PINGAN_ENV": "prod"}
    if secret:
        env["PINGAN_AUTH_SECRET"] = secret
    done = subprocess.run([sys.executable, "-m", "patrol"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert "configuration error" in done.stderr and "PINGAN_AUTH_SECRET" in done.stderr
    assert "Traceback" not in done.stderr


def test_pingan_up_shows_initdbs_own_message(tmp_path: Path, stack_env: dict[str, str]) -> None:
    """A data directory initdb refuses (here: not empty, and no cluster in it) is explained in initdb's words."""
    pgdata = tmp_path / "data" / "pgdata"
    pgdata.mkdir(parents=True)
    (pgdata / "notes.txt").write_text("something else lives here")
    done = subprocess.run([*PINGAN, "up", "--data-dir", str(tmp_path / "data")], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **stack_env})
    assert done.returncode == 1, done.stdout[-2000:]
    assert f"initdb could not create {pgdata}" in done.stderr, done.stderr[-2000:]
    assert "exists but is not empty" in done.stderr  # initdb's own words
    assert "Traceback" not in done.stderr


def _pid_listening_with(*words: str) -> int:
    """An embedded server's process, found by its command line the way an operator would with ps."""
    wanted = [word.encode() for word in words]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if all(word in argv for word in wanted):
                return int(entry.name)
    raise AssertionError(f"no process with {words} in its command line")


SERVERS = {  # what `pingan up` calls it, and how to find its process from the stack's environment
    "Kafka broker": lambda env: _pid_listening_with("broker", f"tcp://127.0.0.1:{env['PINGAN_KAFKA_PORT']}"),
    "PostgreSQL": lambda env: _pid_listening_with("-p", env["PINGAN_PG_PORT"], "-h", "127.0.0.1"),
}


@pytest.mark.slow
@pytest.mark.parametrize("server", sorted(SERVERS))
def test_pingan_up_restarts_a_dead_server_and_the_services_recover(
    tmp_path: Path, stack_env: dict[str, str], server: str
) -> None:
    import queue
    import threading

    process = subprocess.Popen([*PINGAN, "up", "--data-dir", str(tmp_path / "data")], env={**os.environ, **stack_env},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    seen: list[str] = []

    def wait_for(text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            if text in line:
                return
        quiet = [line for line in seen if '"level": "info"' not in line]
        raise AssertionError(f"no line with {text!r}; output without info logs:\n" + "".join(quiet)[-6000:])

    urls = [f"http://127.0.0.1:{stack_env[f'{spec.env_prefix}HTTP_PORT']}" for spec in SERVICES]

    def all_ready() -> bool:
        try:
            return all(httpx.get(f"{url}/ready", timeout=5).status_code == 200 for url in urls)
        except httpx.HTTPError:
            return False

    try:
        wait_for("Pingan is ready", timeout=180)
        os.kill(SERVERS[server](stack_env), signal.SIGKILL)
        wait_for(f"{server} exited (code -9); restarting (1/5)")
        wait_for(f"{server} restarted")
        deadline = time.monotonic() + 120
        while not all_ready():
            assert time.monotonic() < deadline, f"services not ready again after {server} came back:\n" + "".join(
                seen[-40:])
            time.sleep(1)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(seen[-40:])
