"""The live stream for dashboards: PostgreSQL NOTIFY fans every event out to every replica.

``notify_live`` is called inside the transaction that makes the change, so the notification leaves on commit
and never for a rolled-back change. Each replica keeps one LISTENing connection (``LiveHub``) and hands each
event to the Server-Sent-Events streams open on it; so a dashboard connected to any replica sees everything.
The stream is a view, not a record: a dashboard that reconnects reads the state over HTTP and follows on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

from alerts.domain.access import can_see
from pingan_shared.auth import Principal
from pingan_shared.service import ServiceRuntime

if TYPE_CHECKING:
    from alerts.context import AlertsContext

log = structlog.get_logger(__name__)

CHANNEL = "alerts_live"
# NOTIFY payloads must stay below 8000 bytes; a larger event is cut to what identifies it.
_MAX_PAYLOAD_BYTES = 7000
_IDENTIFYING = ("alert_id", "dedup_key", "kind", "unit_id", "area", "places", "status", "recipient", "target")
_QUEUE_SIZE = 1000


def encode(kind: str, payload: Mapping[str, Any]) -> str:
    text = json.dumps({"kind": kind, "payload": payload}, ensure_ascii=False, default=str)
    if len(text.encode("utf-8")) <= _MAX_PAYLOAD_BYTES:
        return text
    kept = {k: payload[k] for k in _IDENTIFYING
            if k in payload and isinstance(payload[k], str | int | list | None)}
    kept["truncated"] = True
    return json.dumps({"kind": kind, "payload": kept}, ensure_ascii=False, default=str)


async def notify_live(conn: asyncpg.Connection, kind: str, payload: Mapping[str, Any]) -> None:
    """Publish ``kind`` with ``payload`` (JSON-able; ``unit_id``/``area`` keys scope who sees it) to every live
    stream of every replica, when the caller's transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, encode(kind, payload))


async def notify_live_many(conn: asyncpg.Connection, events: list[tuple[str, Mapping[str, Any]]]) -> None:
    """``notify_live`` for many (kind, payload), in this order, in one statement."""
    if events:
        await conn.execute("SELECT pg_notify($1, e) FROM unnest($2::text[]) WITH ORDINALITY AS t(e, n) ORDER BY n",
                           CHANNEL, [encode(kind, payload) for kind, payload in events])


def filtered(principal: Principal, event: Mapping[str, Any], scope_code: str | None = None) -> dict[str, Any] | None:
    """The part of ``event`` the principal (a scoped supervisor's scope as a code: ``scope_code``) may see, or None.
    A bundled notification lists several alerts: only those in the principal's sight stay."""

    def seen(item: Mapping[str, Any]) -> bool:
        places = item.get("places")
        return can_see(principal, unit_id=item.get("unit_id"), area=item.get("area"),
                       places=places if isinstance(places, list) else (), scope_code=scope_code)

    payload = event.get("payload") or {}
    items = payload.get("notifications")
    if isinstance(items, list):
        kept = [i for i in items if isinstance(i, dict) and seen(i)]
        if not kept:
            return None
        return {"kind": event.get("kind"), "payload": {**payload, "notifications": kept}}
    if seen(payload):
        return dict(event)
    return None


@dataclass
class LiveHub:
    """One LISTENing connection per replica, fanned out to the open streams' queues."""

    # Weak: the hub is kept in a module-level map by runtime, and must not keep a stopped service alive.
    runtime: weakref.ref[ServiceRuntime]
    reconnect_seconds: float = 1.0
    _subscribers: set[asyncio.Queue[dict[str, Any] | None]] = field(default_factory=set)
    _listening: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while True:
            try:
                await self._listen_until_lost()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live stream listener lost; reconnecting", error=repr(exc))
            self._listening.clear()
            await asyncio.sleep(self.reconnect_seconds)

    async def _listen_until_lost(self) -> None:
        runtime = self.runtime()
        if runtime is None:
            raise RuntimeError("the service is gone")
        pool = runtime.pool
        conn: asyncpg.Connection = await pool.acquire()
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda _c: lost.set())
            await conn.add_listener(CHANNEL, self._on_notify)
            self._listening.set()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), 5.0)
                if not lost.is_set():
                    await conn.execute("SELECT 1")  # notices a dead connection even without traffic
        finally:
            self._listening.clear()
            with contextlib.suppress(Exception):
                await conn.remove_listener(CHANNEL, self._on_notify)
            with contextlib.suppress(Exception):
                await pool.release(conn)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # A reader that cannot keep up is cut off (it reconnects and re-reads) rather than slow the rest.
                self._subscribers.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    async def listening(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._listening.wait(), timeout)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(_QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


# Keyed by the runtime's identity (a dataclass, unhashable); the entry goes when the runtime is collected.
_HUBS: dict[int, LiveHub] = {}


def hub_for(ctx: AlertsContext) -> LiveHub:
    """The hub of this service instance (one per runtime; tests run several services in one process)."""
    key = id(ctx.runtime)
    hub = _HUBS.get(key)
    if hub is None:
        hub = _HUBS[key] = LiveHub(weakref.ref(ctx.runtime))
        weakref.finalize(ctx.runtime, _HUBS.pop, key, None)
    return hub
