"""The alerts pages' stage: the real alerts service served on a loopback port (its own database with the test
directory, the real broker; deliveries polled every 50 ms, no bundling wait) and the console in-process
calling it over HTTP, on one FixedClock. The other three services point at a closed port: the operator's pages show
them unreachable and go on.

Over real HTTP rather than in-process, because the console relays alerts' endless live stream, which an in-process
transport would wait on for ever; ``sse`` reads the console's own ``/alerts/live`` the same way a browser does,
event by event, then hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest

from alerts.bootstrap import bootstrap as alerts_bootstrap
from alerts.settings import AlertsSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import answer
from pingan_stack.test_databases import WITH_DIRECTORY
from pingan_stack.testing import bearer, eventually, serving_on_loopback

from .conftest import START, Browser, Console

TANGXIA = "330381102000"  # 塘下镇
ANYANG = "330381001000"  # 安阳街道
KIND = "grid.event-timeout"  # the grid platform's own kind: its ladder is the stored policy below


def closed_port_url() -> str:
    """An address nothing answers at (a port taken and let go again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def field_errors(html: str, field: str) -> list[str]:
    """The reasons shown right under the form field ``field``."""
    found = re.search(rf'<ul class="field-errors" id="e-{re.escape(field)}">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []


class Stage:
    def __init__(self, alerts_url: str, database_url: str, clock: FixedClock, console: Console,
                 client: httpx.AsyncClient) -> None:
        self.alerts_url, self.database_url, self.clock, self.console = alerts_url, database_url, clock, console
        self.client = client  # to alerts directly, kept for the stage's life

    def token(self, role: Role, subject: str = "tester", **claims: str) -> dict[str, str]:
        return bearer(role, subject, issued_at=self.clock.now(), **claims)

    @property
    def admin(self) -> dict[str, str]:
        return self.token(Role.ADMIN, "setup-admin")

    async def call(self, method: str, path: str, headers: Mapping[str, str], *,
                   expect: int | tuple[int, ...] = (200, 201, 202, 204), **kwargs: Any) -> Any:
        return await answer(self.client, method, path, headers, expect=expect, **kwargs)

    async def township_office(self, *people: str) -> None:
        """Contacts for 塘下镇's supervisors: each person's inbox (their console user name) and the township's group."""
        for name in people:
            await self.call("PUT", f"/v1/contacts/person:{name}", self.admin,
                            json={"display_name": name, "subject": name})
        await self.call("PUT", f"/v1/contacts/role:township-supervisor:{TANGXIA}", self.admin,
                        json={"display_name": "塘下镇平安办", "members": [f"person:{p}" for p in people]})

    async def summons_policy(self, first: str, second: str) -> dict[str, Any]:
        """The grid kind's ladder: 通报 the township at once, then a 约谈 both officials acknowledge, then 问责."""
        return await self.call("POST", "/v1/policies", self.admin, json={
            "name": "网格事件督办", "kind": KIND, "repeat": 0, "steps": [
                {"label": "通报", "delay_seconds": 0, "targets": ["role:township-supervisor:{township}"],
                 "channels": ["inbox", "stream"]},
                {"label": "约谈", "delay_seconds": 3600, "targets": [f"person:{first}", f"person:{second}"],
                 "channels": ["inbox", "stream"], "requires_all_acks": True, "ack_timeout_seconds": 86400},
                {"label": "问责", "delay_seconds": 86400, "targets": [f"person:{first}"], "channels": ["inbox"]},
            ]})

    async def raise_alert(self, key: str, summary: str, place: str = TANGXIA) -> str:
        """An alert raised by the grid platform over the events API, as an outside system does: its id."""
        answer = await self.call("POST", "/v1/events", self.token(Role.INTEGRATION, "grid"), json={
            "action": "trigger", "dedup_key": f"grid:{key}", "kind": KIND, "severity": "high", "place": place,
            "summary": summary, "source": {"service": "grid", "entity_type": "event", "entity_id": key},
            "occurred_at": self.clock.now().isoformat()})
        alert_id: str = answer["alert_id"]
        return alert_id

    async def inbox_count(self, subject: str) -> int:
        page = await self.call("GET", "/v1/inbox", self.token(Role.SUPERVISOR, subject), params={"unread": "true"})
        return int(page["unread"])

    async def until_inbox(self, subject: str, count: int) -> None:
        async def reached() -> bool:
            return await self.inbox_count(subject) == count
        await eventually(reached, timeout=20, what=f"{subject}'s inbox holds {count} unread")


@pytest.fixture(name="stage")
async def stage_fixture(database_factory: Callable[..., Awaitable[str]], platform_settings: PlatformSettings,
                make_console: Callable[..., Awaitable[Console]]) -> AsyncIterator[Stage]:
    clock = FixedClock(START)
    database = await database_factory(template="alerts" + WITH_DIRECTORY)
    settings = AlertsSettings(database_url=database, delivery_poll_seconds=0.05,
                              delivery_bundle_window_seconds=0, delivery_max_attempts=1, stream_ping_seconds=1)
    alerts = alerts_bootstrap(platform=platform_settings, settings=settings, clock=clock)
    async with serving_on_loopback(alerts) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        nowhere = closed_port_url()
        console = await make_console(clock, alerts_url=url, patrol_url=nowhere, roster_url=nowhere,
                                     inspection_url=nowhere, service_timeout_seconds=3)
        yield Stage(url, database, clock, console, client)
        await console.stop()


Events = list[tuple[str, str]]


async def sse(browser: Browser, path: str, enough: Callable[[Events], bool], *,
              during: Callable[[], Awaitable[None]] | None = None, timeout: float = 20) -> tuple[int, Events]:
    """Open ``path`` on the console as ``browser`` (its cookies) and read its Server-Sent Events until ``enough`` of
    them came (``during`` runs once the stream is open), then hang up: the status and the (event, data) pairs."""
    app = browser.client._transport.app  # type: ignore[attr-defined]  # the console's ASGI app
    cookies = "; ".join(f"{name}={value}" for name, value in browser.client.cookies.items())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
             "server": ("console.test", 80), "client": ("192.0.2.10", 40000),
             "headers": [(b"host", b"console.test"), (b"cookie", cookies.encode()), (b"accept", b"text/event-stream")]}
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    hang_up = asyncio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await messages.put(message)

    serving = asyncio.create_task(app(scope, receive, send))
    events: Events = []
    status, buffer, started = 0, "", False
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await messages.get()
                if message["type"] == "http.response.start":
                    status = message["status"]
                    continue
                buffer += message.get("body", b"").decode()
                while "\n\n" in buffer or "\r\n\r\n" in buffer:
                    block, _, buffer = buffer.replace("\r\n", "\n").partition("\n\n")
                    fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line
                                  and not line.startswith(":"))
                    if "event" in fields:
                        events.append((fields["event"], fields.get("data", "")))
                if not message.get("more_body", False) or enough(events):
                    break
                if during is not None and not started and events:
                    started = True
                    await during()
    finally:
        hang_up.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)
    return status, events
