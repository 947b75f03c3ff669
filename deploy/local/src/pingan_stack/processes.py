"""Service processes: start ``python -m <service>``, wait for /ready, stream its logs, stop or kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx


class ServiceNotReady(RuntimeError):
    pass


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: Mapping[str, str]
    on_line: Callable[[str, str], None] | None = None  # (service, line) for streamed logs
    metrics_port: int | None = None  # where its /metrics is served (loopback), when the starter chose it
    process: subprocess.Popen[str] | None = field(default=None, init=False)
    _reader: threading.Thread | None = field(default=None, init=False)
    lines: list[str] = field(default_factory=list, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Its Prometheus metrics (on the metrics port: the API port has none)."""
        assert self.metrics_port is not None, f"{self.name} was started without a known metrics port"
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> None:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.name], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", errors="replace", start_new_session=True,
        )
        self._reader = threading.Thread(target=self._pump, name=f"log:{self.name}", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            if len(self.lines) > 2000:
                del self.lines[:1000]
            if self.on_line:
                self.on_line(self.name, line)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        # one client for the whole wait: each new one builds an SSL context, tens of milliseconds of CPU
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    code = None if self.process is None else self.process.returncode
                    tail = "\n".join(self.lines[-20:])
                    raise ServiceNotReady(f"{self.name} exited (code {code}) before it was ready:\n{tail}")
                try:
                    response = client.get(f"{self.url}/ready")
                    if response.status_code == 200:
                        return
                    last = response.text
                except httpx.HTTPError as exc:
                    last = repr(exc)
                time.sleep(0.2)
        raise ServiceNotReady(f"{self.name} not ready after {timeout:.0f} s: {last}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader:
            self._reader.join(timeout=2)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (the fault the reliability rules are about)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        if self._reader:
            self._reader.join(timeout=2)
