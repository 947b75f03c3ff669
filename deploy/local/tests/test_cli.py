"""The `pingan` command as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pingan_shared.auth import Role, SigningKey, TokenVerifier, verify_token
from pingan_shared.service import BROKER_PROBE_SECONDS, BROKER_PROBE_TIMEOUT_SECONDS
from pingan_shared.settings import PlatformSettings
from pingan_stack import stack as stack_module
from pingan_stack.embedded import EmbeddedKafka, free_port
from pingan_stack.stack import Stack, StackOptions
from pingan_stack.supervision import Supervised, Supervisor
from pingan_stack.test_tokens import session_verifier
from pingan_stack.testing import PINGAN_COMMAND, bearer, run_pingan
from pingan_stack.topology import PROCESSES, SERVICES, all_topics

PINGAN = list(PINGAN_COMMAND)


def test_token_issue_mints_a_token_the_services_accept() -> None:
    done = run_pingan("token", "issue", "--role", "patrol_device", "--subject", "设备-07", "--team", "安阳一队")
    assert done.returncode == 0, done.stderr
    # signed with the key PINGAN_AUTH_SIGNING_KEY_FILE names (the test session's)
    principal = verify_token(session_verifier(), done.stdout.strip(), now=datetime.now(UTC))
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


@pytest.mark.parametrize(("hours", "scale"), [("8784", "1e5"), ("12", "1e9"), ("8784", "1e7")])
def test_token_issue_refuses_a_validity_beyond_the_calendar(hours: str, scale: str) -> None:
    """Real hours × PINGAN_CLOCK_SCALE past year 9999 (or past what a timedelta holds) is a usage error about
    --hours, not a traceback."""
    done = run_pingan("token", "issue", "--role", "admin", "--subject", "a", "--hours", hours,
                      env={"PINGAN_CLOCK_SCALE": scale, "PINGAN_CLOCK_EPOCH": datetime.now(UTC).isoformat()})
    assert done.returncode == 2, done.stdout
    assert "--hours" in done.stderr and "PINGAN_CLOCK_SCALE" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "OverflowError" not in done.stderr


def test_token_issue_names_a_clock_scale_that_leaves_the_calendar() -> None:
    """The scaled clock itself can run past year 9999 (an extreme scale, an epoch long ago): a configuration
    error naming the settings, not --hours."""
    epoch = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    done = run_pingan("token", "issue", "--role", "admin", "--subject", "a",
                      env={"PINGAN_CLOCK_SCALE": "1e12", "PINGAN_CLOCK_EPOCH": epoch})
    assert done.returncode == 2, done.stdout
    assert "configuration error" in done.stderr and "PINGAN_CLOCK_SCALE" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def _pingan_in(directory: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PINGAN, *args], capture_output=True, text=True, timeout=60, cwd=directory,
                          env={**os.environ, **env})


def test_token_issue_signs_with_the_stacks_key_and_without_a_key_says_where_to_get_one(tmp_path: Path) -> None:
    unset = {"PINGAN_AUTH_SIGNING_KEY_FILE": ""}
    done = _pingan_in(tmp_path, "token", "issue", "--role", "admin", "--subject", "a", env=unset)
    assert done.returncode == 2, done.stdout
    assert "configuration error" in done.stderr and "PINGAN_AUTH_SIGNING_KEY_FILE" in done.stderr, done.stderr
    assert ".pingan/auth/signing-key.pem" in done.stderr and "Traceback" not in done.stderr
    # the one `pingan up` made in its data directory, .pingan under the working directory by default
    key = SigningKey.generate()
    key.save(tmp_path / ".pingan" / "auth" / "signing-key.pem")
    done = _pingan_in(tmp_path, "token", "issue", "--role", "admin", "--subject", "a", env=unset)
    assert done.returncode == 0, done.stderr
    assert verify_token(TokenVerifier.from_jwks(key.jwks()), done.stdout.strip(), now=datetime.now(UTC)).subject == "a"
    # and the old shared secret signs nothing: setting it changes nothing
    old = _pingan_in(tmp_path, "token", "issue", "--role", "admin", "--subject", "a",
                     env={**unset, "PINGAN_AUTH_SECRET": "pingan-dev-only-secret-do-not-use-in-production-0123456789"})
    assert verify_token(TokenVerifier.from_jwks(key.jwks()), old.stdout.strip(), now=datetime.now(UTC)).subject == "a"


def test_auth_keygen_writes_a_private_key_and_prints_its_public_jwks(tmp_path: Path) -> None:
    out = tmp_path / "keys" / "signing-key.pem"
    made = run_pingan("auth", "keygen", "--out", str(out))
    assert made.returncode == 0, made.stderr
    jwks = json.loads(made.stdout)
    key = SigningKey.load(out)
    assert jwks == key.jwks() and (out.stat().st_mode & 0o777) == 0o600
    assert "d" not in jwks["keys"][0] and f"kid {key.kid}" in made.stderr
    # run again (a compose job on every start): the key is kept, its JWKS printed again
    again = run_pingan("auth", "keygen", "--out", str(out))
    assert again.returncode == 0 and json.loads(again.stdout) == jwks and "kept" in again.stderr
    replaced = run_pingan("auth", "keygen", "--out", str(out), "--force")
    assert json.loads(replaced.stdout) != jwks
    # pingan auth jwks: the configured key's
    shown = run_pingan("auth", "jwks", env={"PINGAN_AUTH_SIGNING_KEY_FILE": str(out)})
    assert shown.returncode == 0 and json.loads(shown.stdout) == SigningKey.load(out).jwks()
    (tmp_path / "junk.pem").write_text("junk")
    refused = run_pingan("auth", "keygen", "--out", str(tmp_path / "junk.pem"))
    assert refused.returncode == 2 and "not an unencrypted PEM" in refused.stderr
    assert (tmp_path / "junk.pem").read_text() == "junk"  # never overwritten without --force


def test_events_schemas_are_printed_and_written(tmp_path: Path) -> None:
    printed = run_pingan("events", "schemas")
    assert "patrol.scan-accepted.v2" in json.loads(printed.stdout)
    written = run_pingan("events", "schemas", "--out", str(tmp_path))
    assert written.returncode == 0
    assert (tmp_path / "patrol.scan-accepted.v2.schema.json").exists()


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {f"{s.env_prefix}HTTP_PORT": str(free_port()) for s in PROCESSES}
    env |= {f"{s.env_prefix}METRICS_PORT": str(free_port()) for s in PROCESSES}
    env |= {"PINGAN_PG_PORT": str(free_port()), "PINGAN_KAFKA_PORT": str(free_port())}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
        env[name] = ""  # the embedded servers, whatever the test runner's environment says
    yield env


def assert_the_stack_serves(said: str, stack_env: dict[str, str], *, external: bool) -> None:
    """What ``pingan up`` printed once ready, each service ready at its printed URL with its metrics beside it,
    and the operator commands finding the stack by the settings it was started with."""
    if external:
        assert "PostgreSQL: external server" in said and "Kafka: external brokers" in said
    else:
        assert "PostgreSQL: embedded" in said and "Kafka: embedded" in said
    for spec in SERVICES:
        url = f"http://127.0.0.1:{stack_env[f'{spec.env_prefix}HTTP_PORT']}"
        assert url in said, f"{spec.name} URL not printed"
        ready = httpx.get(f"{url}/ready", timeout=5)
        assert ready.status_code == 200, ready.text
        # the metrics are on the metrics port, printed beside the API's; the API port has none
        metrics_url = f"http://127.0.0.1:{stack_env[f'{spec.env_prefix}METRICS_PORT']}/metrics"
        assert metrics_url in said, f"{spec.name} metrics URL not printed"
        assert f'pingan_service_info{{service="{spec.name}"}} 1.0' in httpx.get(metrics_url, timeout=5).text
        assert httpx.get(f"{url}/metrics", timeout=5).status_code == 404
    kafka, databases = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL") if external else ("PINGAN_KAFKA_PORT",
                                                                                     "PINGAN_PG_PORT")
    letters = run_pingan("deadletters", env=stack_env)
    assert letters.returncode == 0 and f"({kafka})" in letters.stderr, letters.stderr
    assert "patrol: 0 dead letter(s)" in letters.stdout, letters.stdout
    parked = run_pingan("outbox", "parked", env=stack_env)
    assert parked.returncode == 0 and "alerts: 0 parked outbox row(s)" in parked.stdout, parked.stderr
    assert f"/pingan_alerts ({databases})" in parked.stderr, parked.stderr
    assert_the_console_serves(said, stack_env, embedded=not external)


def assert_the_console_serves(said: str, stack_env: dict[str, str], *, embedded: bool) -> None:
    """The console's address is the first printed; on the embedded stack the demo accounts follow it (one per role)
    and the admin's signs in; on external servers none is made."""
    import re

    url = f"http://127.0.0.1:{stack_env['CONSOLE_HTTP_PORT']}"
    addresses = re.findall(r"^  (\w+) +(http://127\.0\.0\.1:\d+)", said, re.MULTILINE)
    assert addresses[0] == ("console", url), addresses
    assert httpx.get(f"{url}/ready", timeout=5).status_code == 200
    demo = dict(re.findall(r"^  (admin|organiser|inspector|monitor|unit\.tx|supervisor\.tx|member\.zhang) +(\S+) ",
                           said, re.MULTILINE))
    if not embedded:
        assert not demo and "demo accounts" not in said
        return
    assert len(demo) == 7, said
    with httpx.Client(base_url=url, headers={"Origin": url}, timeout=10) as browser:
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/signin").text)
        assert token is not None
        signed_in = browser.post("/signin", data={"username": "admin", "password": demo["admin"],
                                                  "csrf_token": token.group(1), "next": "/admin/services"})
        assert signed_in.status_code == 303, signed_in.text[-2000:]
        assert browser.get("/admin/services").text.count("已接受") == 4  # every service takes its tokens


def assert_the_stacks_key_alone_signs(data_dir: Path, said: str, stack_env: dict[str, str]) -> None:
    key_file = data_dir / "auth" / "signing-key.pem"
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert f"Token signing key: {key_file} (kid {SigningKey.load(key_file).kid[:12]}…, made now)" in said, said
    issued = run_pingan("token", "issue", "--role", "inspector", "--subject", "暗访组",
                        env={"PINGAN_AUTH_SIGNING_KEY_FILE": str(key_file)})
    assert issued.returncode == 0, issued.stderr
    for spec in SERVICES:
        url = f"http://127.0.0.1:{stack_env[f'{spec.env_prefix}HTTP_PORT']}/v1/directory/entries"
        accepted = httpx.get(url, headers={"Authorization": f"Bearer {issued.stdout.strip()}"}, timeout=10)
        assert accepted.status_code == 200, (spec.name, accepted.text)
        other_key = httpx.get(url, headers=bearer(Role.INSPECTOR, "暗访组"), timeout=10)  # the test session's key
        assert other_key.status_code == 401 and "unknown key" in other_key.json()["detail"], other_key.text


def assert_stopped_cleanly(returncode: int, said: str, stack_env: dict[str, str]) -> None:
    assert returncode == 0, said[-3000:]
    assert "Stopped." in said
    for spec in SERVICES:
        port = int(stack_env[f"{spec.env_prefix}HTTP_PORT"])
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        metrics_port = int(stack_env[f"{spec.env_prefix}METRICS_PORT"])
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2)


def test_pingan_up_on_external_servers_reaches_ready_and_stops_cleanly(
    tmp_path: Path, stack_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    """The embedded case is the restart scenario's beginning and end (one stack started for both). Started without
    PINGAN_AUTH_SIGNING_KEY_FILE, as a user's first `pingan up` is: it makes the issuer's key in its data directory,
    and the services take tokens signed with it (by `pingan token issue`) and no other."""
    # the test session's servers stand in for a company's PostgreSQL and Kafka
    stack_env["DATABASE_URL"] = request.getfixturevalue("postgres_server_url")
    stack_env["KAFKA_BOOTSTRAP_SERVERS"] = request.getfixturevalue("kafka_bootstrap_servers")
    stack_env["KAFKA_TOPIC_PREFIX"] = f"up{os.getpid()}."
    stack_env |= {"PINGAN_AUTH_SIGNING_KEY_FILE": "", "PINGAN_AUTH_JWKS": "",
                  "PINGAN_AUTH_JWKS_URL": "http://127.0.0.1:9/left-in-the-shell"}  # pingan up gives its own
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
        assert_the_stack_serves("".join(output), stack_env, external=True)
        assert not (tmp_path / "data" / "pgdata").exists()
        assert_the_stacks_key_alone_signs(tmp_path / "data", "".join(output), stack_env)
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert_stopped_cleanly(process.returncode, rest, stack_env)


def test_pingan_up_names_a_taken_port(tmp_path: Path, stack_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(stack_env["ROSTER_HTTP_PORT"])))
        holder.listen()
        done = subprocess.run([*PINGAN, "up", "--data-dir", str(tmp_path / "data")], capture_output=True, text=True,
                              timeout=60, env={**os.environ, **stack_env})
    assert done.returncode == 1
    assert f"roster (ROSTER_HTTP_PORT): port {stack_env['ROSTER_HTTP_PORT']}" in done.stderr


def test_pingan_up_names_a_taken_metrics_port(tmp_path: Path, stack_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(stack_env["INSPECTION_METRICS_PORT"])))
        holder.listen()
        done = subprocess.run([*PINGAN, "up", "--data-dir", str(tmp_path / "data")], capture_output=True, text=True,
                              timeout=60, env={**os.environ, **stack_env})
    assert done.returncode == 1
    assert f"inspection metrics (INSPECTION_METRICS_PORT): port {stack_env['INSPECTION_METRICS_PORT']}" in done.stderr


def test_a_service_names_its_taken_metrics_port(stack_env: dict[str, str]) -> None:
    import socket

    port = int(stack_env["ROSTER_METRICS_PORT"])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = subprocess.run([sys.executable, "-m", "roster"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **stack_env})
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use (set ROSTER_METRICS_PORT)" in done.stderr


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


@pytest.mark.parametrize("old_secret", [None, "pingan-dev-only-secret-do-not-use-in-production-0123456789"])
def test_a_service_refuses_to_start_without_the_issuers_public_key(
    stack_env: dict[str, str], old_secret: str | None
) -> None:
    """No JWKS, no service: it could verify nobody. The old shared secret is no key (it is ignored)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN_AUTH_")} | stack_env
    env |= {"PINGAN_ENV": "prod"} | ({"PINGAN_AUTH_SECRET": old_secret} if old_secret else {})
    done = subprocess.run([sys.executable, "-m", "patrol"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stdout[-2000:]
    assert "configuration error: no public key to verify tokens with: set PINGAN_AUTH_JWKS" in done.stderr
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
def test_pingan_up_restarts_a_dead_server_and_the_services_recover(tmp_path: Path, stack_env: dict[str, str]) -> None:
    """The embedded stack: ready, as printed, within a minute; then each server killed in turn (the broker, then
    PostgreSQL): reported, restarted, and the services ready, connected and carrying a scan end to end again after
    each; and at SIGINT everything stopped, every port closed."""
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

    def broker_checks() -> list[str]:  # /ready does not wait for the broker: its body says how it is
        try:
            return [httpx.get(f"{url}/ready", timeout=5).json()["checks"]["broker"] for url in urls]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return [repr(exc)]

    patrol, roster = urls[[spec.name for spec in SERVICES].index("patrol")], urls[
        [spec.name for spec in SERVICES].index("roster")]

    def counted() -> list[dict[str, object]]:
        response = httpx.get(f"{roster}/v1/attendance", params={"team_id": "安阳一队"}, timeout=10,
                             headers=bearer(Role.SUPERVISOR, "督导"))
        assert response.status_code == 200, response.text
        return list(response.json()["attendance"])

    def kill_and_recover(server: str, scans_before: int) -> None:
        os.kill(SERVERS[server](stack_env), signal.SIGKILL)
        wait_for(f"{server} exited (code -9); restarting (1/5)")
        if server == "Kafka broker":  # what a restart of the memory-only broker costs is said, not hidden
            assert "comes back empty" in seen[-1], seen[-1]
        wait_for(f"{server} restarted")
        # Ready, and each service's broker check "ok" — seen twice, a full probe apart, so that it is the verdict
        # of a probe made after the restart and not one left over from before the kill.
        deadline, ok_since = time.monotonic() + 120, None
        while ok_since is None or time.monotonic() - ok_since <= BROKER_PROBE_SECONDS + BROKER_PROBE_TIMEOUT_SECONDS:
            assert time.monotonic() < deadline, (
                f"services not ready and connected again after {server} came back: {broker_checks()}\n"
                + "".join(seen[-40:]))
            time.sleep(1)
            if not (all_ready() and broker_checks() == ["ok"] * len(urls)):
                ok_since = None
            elif ok_since is None:
                ok_since = time.monotonic()
        # and an event goes end to end again: a scan posted to patrol is counted by roster
        registered = httpx.post(f"{patrol}/v1/checkpoints", headers=bearer(Role.ORGANISER, "平安办"), timeout=30,
                                json={"id": "CP-R", "tag": "NFC-重启", "name": "重启路口"})
        assert registered.status_code == (201 if scans_before == 0 else 200), registered.text
        scan = {"scan_id": f"after-restart-{scans_before}", "member_id": "张三", "team_id": "安阳一队",
                "tag": "NFC-重启", "device_time": datetime.now(UTC).isoformat()}
        posted = httpx.post(f"{patrol}/v1/scans", json={"scans": [scan]}, timeout=30,
                            headers=bearer(Role.PATROL_DEVICE, "device-r", team="安阳一队"))
        assert posted.status_code == 200 and posted.json()["results"][0]["status"] == "accepted", posted.text

        def count() -> int:
            return sum(int(str(row["scan_count"])) for row in counted())

        deadline = time.monotonic() + 120
        while count() <= scans_before:
            assert time.monotonic() < deadline, f"roster never counted the scan after {server} came back:\n" + (
                "".join(seen[-40:]))
            time.sleep(1)
        assert [(row["member_id"], row["scan_count"]) for row in counted()] == [("张三", scans_before + 1)]

    try:
        started = time.monotonic()
        wait_for("Pingan is ready", timeout=180)
        elapsed = time.monotonic() - started
        assert elapsed < 60, f"ready after {elapsed:.0f} s"
        assert_the_stack_serves("".join(seen), stack_env, external=False)
        for scans_before, server in enumerate(sorted(SERVERS)):
            kill_and_recover(server, scans_before)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        wait_for("Stopped.", timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert_stopped_cleanly(process.returncode, "".join(seen), stack_env)


# --- the supervisor as `pingan up` wires it, over a real embedded broker --------------------------------------


class SteppedClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_restarted_broker_gets_its_topics_even_when_the_first_try_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded broker comes back from a restart with no topics. Creating them can fail although the broker
    process runs again; then it is retried on later rounds until it succeeds, the broker's restart budget is
    not refilled meanwhile, and the cost of the restart (events in memory only) is said."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    said: list[str] = []
    stack = Stack(StackOptions(data_dir=tmp_path, kafka_port=free_port()), say=said.append)
    stack.kafka = kafka = EmbeddedKafka(port=stack.options.kafka_port, log_path=tmp_path / "broker.log")
    kafka.start()
    real_ensure_topics, attempts = stack_module.ensure_topics, []

    async def refused_once(*args: object, **kwargs: object) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("broker not answering yet")
        await real_ensure_topics(*args, **kwargs)  # type: ignore[arg-type]

    async def topics() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    monkeypatch.setattr(stack_module, "ensure_topics", refused_once)
    clock = SteppedClock()
    try:
        watch = Supervisor(stack._supervised(), say=said.append, clock=clock, sleep=lambda _: None,
                           healthy_after=120)
        clock.now += 500  # up a long while before it dies
        assert kafka.process is not None
        kafka.process.kill()
        kafka.process.wait()
        watch.check()  # restarted; creating the topics fails
        assert kafka.running and len(attempts) == 1
        assert any("Kafka broker exited (code -9); restarting (1/5)" in line and "comes back empty"
                   in line for line in said), said
        watch.check()  # same instant: the broker is up, but not for 120 s yet — and not ready
        assert not any("budget refilled" in line for line in said), said
        for _ in range(10):  # later rounds, time passing: the topics are created again
            clock.now += 5
            watch.check()
        wanted = set(all_topics(PlatformSettings(kafka_bootstrap_servers=kafka.bootstrap_servers).kafka_topic_prefix))
        assert wanted <= asyncio.run(topics()), said
        assert len(attempts) == 2 and said[-1].startswith("Kafka broker restarted"), said
    finally:
        kafka.stop()


def test_a_half_failed_restart_that_left_the_process_running_counts_its_time_up_from_then() -> None:
    """A restart may start the process and still fail (it never listened in time): the process runs, and its
    time up — which refills the restart budget — counts from that restart, not from before the death."""
    said: list[str] = []
    clock = SteppedClock()
    alive = [True]

    def start_but_fail() -> None:
        alive[0] = True
        raise RuntimeError("nothing listening on 127.0.0.1:9092 after 30 s")

    watch = Supervisor([Supervised("Kafka broker", running=lambda: alive[0], exit_code=lambda: -9,
                                   restart=start_but_fail)],
                       say=said.append, clock=clock, sleep=lambda _: None, healthy_after=120)
    clock.now += 500
    alive[0] = False
    watch.check()
    watch.check()
    assert not any("budget refilled" in line for line in said), said
    clock.now += 120
    watch.check()
    assert said[-1] == "Kafka broker up for 120 s since its last restart: restart budget refilled"
