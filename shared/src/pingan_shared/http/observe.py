"""The edge's request observer: a request id on every answer, the access log line and the HTTP metrics.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware`` (``@app.middleware("http")``), which runs the
rest of the app in a task group and streams the answer through memory channels: on every request of every
service, that was a large part of the HTTP edge's own CPU.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pingan_shared.logs import bound_context, get_logger
from pingan_shared.metrics import Metrics

# the access log keeps the logger name it had when the app module wrote it, so whatever filters on it still finds it
log = get_logger("pingan_shared.http.app")

# Request ids that are not UUIDs (a client's own "upload-42") map to a stable UUID in this namespace.
_REQUEST_NAMESPACE = uuid.UUID("5f0c6d2e-8b7a-4c1e-9a53-70696e67616e")

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Probes run every few seconds; logging them would drown the useful lines.
_QUIET_ROUTES = frozenset({"/health", "/ready"})


def correlation_id_for(request_id: str) -> uuid.UUID:
    """The correlation id of every event a request causes: its request id, as a UUID. One upload can
    then be followed from the access log through each service's consumer logs."""
    try:
        return uuid.UUID(request_id)
    except ValueError:
        return uuid.uuid5(_REQUEST_NAMESPACE, request_id)


class ObserveMiddleware:
    """Gives each request its id (the client's ``X-Request-ID``, up to 100 characters, or a new UUID) and
    correlation id (``request.state.correlation_id``), binds both to the log context while the app answers, and
    then counts and logs the answer. ``is_sealed(route)`` says whether a route's access line is kept to debug."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, is_sealed: Callable[[object], bool]) -> None:
        self.app = app
        self.metrics = metrics
        self.is_sealed = is_sealed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = Headers(scope=scope).get("x-request-id", "")[:100] or str(uuid.uuid4())
        correlation_id = correlation_id_for(request_id)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        with bound_context(request_id=request_id, correlation_id=str(correlation_id)):
            await self.app(scope, receive, send_with_request_id)
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            seconds = time.perf_counter() - started
            method = scope["method"]
            # a made-up method ("QUERY", "XYZ") would otherwise mint a metric series per spelling
            self.metrics.observe_http(method if method in _KNOWN_METHODS else "OTHER", path, status, seconds)
            if path not in _QUIET_ROUTES:
                emit = log.debug if self.is_sealed(route) else log.info
                emit("http request", method=method, route=path, status=status, ms=round(seconds * 1000, 1))
