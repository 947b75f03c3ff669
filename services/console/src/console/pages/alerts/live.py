"""``/alerts/live``: the alerts service's live stream relayed to the browser from the console's own origin, and the
person's unread inbox count kept true with it.

A browser's EventSource sends no Authorization header and the CSP lets it connect only to the console, so the
console opens the stream for it: it asks alerts for a stream ticket as the signed-in person (``POST
/v1/stream-tickets``: a minute's ticket, good for one opening), opens ``/v1/stream?ticket=…`` and relays what comes
(alerts has already filtered it to what the person may see) as ``alert`` events. The inbox has no event of its own
(a message lands there when the delivery worker gets to it, a moment after the step), so each relayed event makes
the relay re-read the unread count for a few seconds after it (at most once a second; every half minute while the
stream is quiet, for what other tabs marked) and send ``unread`` whenever it changed. ``static/alerts.js`` shows
both.

The relay reads the session without touching it (an open tab must not keep an abandoned session alive) and ends
when the session does, or when the account's role or scope changed (the browser reconnects and gets a stream of
the new scope). Without a live session it answers 204, which tells EventSource to stop reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sse_starlette.sse import EventSourceResponse

from console.domain.accounts import Account
from console.services import ServiceRefused, ServiceUnavailable
from console.web.pages import Person, console, stream_person
from console.web.security import SESSION_COOKIE
from console.web.sse_lines import EventLines
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

WATCHERS = frozenset({Role.SUPERVISOR, Role.UNIT, Role.ADMIN})  # who may read alerts' stream
RECOUNT_FOR_SECONDS = 8.0  # after an event, how long the inbox count is re-read (the delivery worker's lag)
RECOUNT_EVERY_SECONDS = 1.0
SESSION_CHECK_SECONDS = 30.0
# What of an alerts event the page needs; the rest (the notification's text, recipients) stays on the server.
RELAYED_FIELDS = ("alert_id", "kind", "status", "severity", "summary", "label", "step", "place_name")


@dataclass
class Upstream:
    """alerts' stream read by a task of its own into ``events`` (None: it ended), so the relay can wait on it with
    a timeout without cutting a read in half."""

    response: httpx.Response
    events: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    async def read(self) -> None:
        lines = EventLines()
        try:
            async for line in self.response.aiter_lines():
                if (event := lines.feed(line)) is not None:
                    kind, payload = event
                    await self.events.put({"kind": kind, "payload": payload})
        except httpx.HTTPError:
            pass
        finally:
            await self.events.put(None)


@router.get("/alerts/live")
async def live(request: Request) -> Response:
    person = await stream_person(request, WATCHERS)
    if person is None:
        return Response(status_code=204)
    return EventSourceResponse(_relay(request, person), ping=15, headers={"Cache-Control": "no-store"})


async def _unread(person: Person) -> int:
    page = await person.services.get("alerts", "/v1/inbox", params={"unread": "true", "limit": 1})
    return int(page.get("unread") or 0)


@contextlib.asynccontextmanager
async def _stream(request: Request, person: Person) -> AsyncIterator[httpx.Response]:
    """alerts' stream opened with a ticket; with the bearer header when the ticket is refused (under a
    compressed-time demo a ticket's minute of service time is over before it is used)."""
    ticket = (await person.services.post("alerts", "/v1/stream-tickets"))["ticket"]
    client = console(request).services.client("alerts")
    timeout = httpx.Timeout(10.0, read=None)  # a quiet stream is not a dead one: alerts sends keep-alives
    headers = {"X-Request-ID": str(request.state.correlation_id)}
    async with client.stream("GET", "/v1/stream", params={"ticket": ticket}, headers=headers,
                             timeout=timeout) as response:
        if response.status_code == 200:
            yield response
            return
    async with person.services.stream("alerts", "/v1/stream") as response:
        yield response


async def _relay(request: Request, person: Person) -> AsyncIterator[dict[str, str | int]]:
    loop = asyncio.get_running_loop()
    try:
        count = await _unread(person)
        yield {"event": "unread", "data": str(count)}
        async with _stream(request, person) as response:
            upstream = Upstream(response)
            reader = asyncio.create_task(upstream.read())
            try:
                recount_until, counted_at = 0.0, loop.time()
                next_session_check = loop.time() + SESSION_CHECK_SECONDS
                while True:
                    wait = SESSION_CHECK_SECONDS if recount_until <= loop.time() else RECOUNT_EVERY_SECONDS
                    try:
                        event = await asyncio.wait_for(upstream.events.get(), wait)
                    except TimeoutError:
                        event = {}
                    if event is None:
                        return  # alerts ended the stream (falling behind, a restart): the browser reconnects
                    if event.get("kind") not in (None, "ready"):
                        payload = event["payload"]
                        yield {"event": "alert", "data": json.dumps(
                            {"event": event["kind"], **{k: payload.get(k) for k in RELAYED_FIELDS}},
                            ensure_ascii=False)}
                        recount_until = loop.time() + RECOUNT_FOR_SECONDS
                    if (recount_until > loop.time() or not event) and \
                            loop.time() - counted_at >= RECOUNT_EVERY_SECONDS:
                        fresh, counted_at = await _unread(person), loop.time()
                        if fresh != count:
                            count = fresh
                            yield {"event": "unread", "data": str(count)}
                    if loop.time() >= next_session_check:
                        if not await _still(request, person.account):
                            yield {"event": "signedout", "data": ""}
                            return
                        next_session_check = loop.time() + SESSION_CHECK_SECONDS
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
    except (ServiceUnavailable, ServiceRefused) as exc:
        # the page keeps its last count; EventSource tries again in half a minute (not its default 3 s)
        yield {"event": "unavailable", "data": str(exc), "retry": 30_000}


async def _still(request: Request, account: Account) -> bool:
    """Whether the session is live and its account as it was when the stream opened."""
    session_id = request.cookies.get(SESSION_COOKIE)
    current = await console(request).gate.current(session_id, touch=False) if session_id else None
    return current is not None and current.account.role == account.role and current.account.scope == account.scope
