"""The metrics port: a service's Prometheus metrics served apart from its API, where only operators reach them.

The API port faces devices, units and whoever can reach it; metrics labelled by route would tell anyone there how
many covert findings were recorded and when the first one came (DESIGN §6). So ``/metrics`` is not on the API app:
it is this second, tiny HTTP server, bound to ``<SERVICE>_METRICS_HOST``/``_METRICS_PORT`` (loopback by default).

It runs in the service's own event loop (no thread), is started and stopped by the runtime like its other loops, and
says which port it got (``port`` 0 = an ephemeral one, what tests use). uvicorn does the HTTP; it is told not to touch
the process's signals, which belong to the API server (or the test) that owns the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import uvicorn
from prometheus_client import make_asgi_app

from pingan_shared.metrics import Metrics

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

METRICS_PATH = "/metrics"
# A scrape in progress when the service stops gets this long to finish; the stop is bounded (see ServiceRuntime).
_GRACE_SECONDS = 2


def metrics_app(metrics: Metrics) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """``GET /metrics`` in the Prometheus (or OpenMetrics, when asked for) text format; anything else 404/405."""
    exposition = make_asgi_app(metrics.registry)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != METRICS_PATH:
            await _plain(send, 404, "not found: the metrics are at /metrics\n")
        elif scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, "method not allowed: GET /metrics\n", allow="GET, HEAD")
        else:
            await exposition(scope, receive, send)

    return app


async def _plain(send: Send, status: int, text: str, *, allow: str | None = None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if allow:
        headers.append((b"allow", allow.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # SIGTERM/SIGINT stop the service through its API server (or the test); this one is stopped by the runtime.
        yield


class MetricsServer:
    """``/metrics`` of one service on ``host:port``; ``start`` binds (an error if the port is taken), ``stop``
    closes it."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self._metrics = metrics
        self._host, self._port = host, port
        self._socket: socket.socket | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The host and the port it is bound to (the one the system chose, for port 0)."""
        if self._socket is None:
            raise RuntimeError("the metrics server is not started")
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a restart rebinds at once
            listener.bind(address)
        except BaseException:
            listener.close()
            raise
        config = uvicorn.Config(metrics_app(self._metrics), lifespan="off", ws="none", log_config=None,
                                access_log=False, server_header=False, timeout_graceful_shutdown=_GRACE_SECONDS)
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[listener]), name="metrics-server")
        self._socket, self._server, self._task = listener, server, task
        while not server.started:
            if task.done():
                failure = None if task.cancelled() else task.exception()
                await self.stop()
                raise RuntimeError(f"the metrics server on {self._host}:{self._port} stopped before it served"
                                   ) from failure
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        server, task, listener = self._server, self._task, self._socket
        self._server = self._task = self._socket = None
        if server is not None and task is not None:
            server.should_exit = True
            done, _ = await asyncio.wait({task}, timeout=_GRACE_SECONDS + 3)
            if not done:  # uvicorn's own grace is over and it is still waiting on something: stop it
                task.cancel()
                await asyncio.wait({task})
            elif not task.cancelled():
                task.exception()  # retrieved, so not logged as never retrieved; start() reported a failure itself
        if listener is not None:
            listener.close()
