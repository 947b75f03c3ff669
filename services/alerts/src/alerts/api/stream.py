"""/v1/stream: Server-Sent Events for dashboards — notifications on the stream channel and the alerts'
lifecycle changes, each filtered to what the caller may see (a unit its own, a supervisor its scope).

Not in the OpenAPI document: an endless stream cannot be described by a response schema nor fuzzed by a
client that waits for the body's end. Events: ``event: <kind>`` (``notification``, or the lifecycle kinds the
escalation side sends) with a JSON ``data`` line; a comment line every ALERTS_STREAM_PING_SECONDS keeps
proxies from closing an idle stream.

Authenticated by the bearer header, or — for a browser's EventSource, which cannot send headers — by a stream
ticket as ``?ticket=`` (``POST /v1/stream-tickets``, ``tickets``: same roles as the stream; one opening each, of
alerts' stream only).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sse_starlette.sse import EventSourceResponse

from alerts.context import Context
from alerts.delivery.live import filtered, hub_for
from alerts.places import scope_code
from pingan_shared.auth import Principal, Role
from pingan_shared.http.tickets import require_roles_or_ticket, stream_ticket_router

WATCHERS = (Role.SUPERVISOR, Role.UNIT, Role.ADMIN)
router = APIRouter(prefix="/v1", tags=["stream"])
tickets = stream_ticket_router(*WATCHERS)
Watcher = Annotated[Principal, Depends(require_roles_or_ticket(*WATCHERS))]


@router.get("/stream", include_in_schema=False)
async def stream(request: Request, ctx: Context, principal: Watcher) -> EventSourceResponse:
    hub = hub_for(ctx)
    async with ctx.runtime.connection() as conn:
        scope = await scope_code(conn, principal)  # once: the stream shows what the scope covers when it opened

    async def events() -> AsyncIterator[dict[str, Any]]:
        async with hub.subscribe() as queue:
            yield {"event": "ready", "data": json.dumps({"subject": principal.subject}, ensure_ascii=False)}
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), 1.0)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    continue
                if event is None:  # cut off for falling behind: the client reconnects
                    return
                visible = filtered(principal, event, scope)
                if visible is not None:
                    yield {"event": str(visible.get("kind") or "message"),
                           "data": json.dumps(visible.get("payload"), ensure_ascii=False, default=str)}

    return EventSourceResponse(events(), ping=int(max(ctx.settings.stream_ping_seconds, 1)))
