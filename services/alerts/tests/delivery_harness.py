"""The delivery tests' harness: the alerts service in-process behind a clock the test moves, a webhook receiver
on a loopback port, a notification as the escalation side makes one. Fixtures are re-exported by conftest."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
import uvicorn
from aiohttp import web

from alerts.bootstrap import bootstrap
from alerts.context import AlertsContext
from alerts.delivery.enqueue import enqueue_notifications
from alerts.delivery.requests import NotificationRequest
from alerts.settings import AlertsSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.test_topics import delete_topics
from pingan_stack.testing import bearer, eventually, running_service, scrape


class DeliveryHarness:
    """One alerts service in-process on a database and topic prefix, behind a ``FixedClock`` the test moves."""

    def __init__(self, service: Service, client: httpx.AsyncClient, database_url: str, clock: FixedClock,
                 stack: contextlib.AsyncExitStack) -> None:
        self.service = service
        self.client = client
        self.database_url = database_url
        self.clock = clock
        self._stack = stack

    async def stop(self) -> None:
        """Stop this service (its replica of the database stays for a restart: ``delivery_service(database_url=…)``)."""
        await self._stack.aclose()

    @property
    def ctx(self) -> AlertsContext:
        ctx: AlertsContext = self.service.app.state.alerts
        return ctx

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the service's own pool (JSON decoded as the service does)."""
        async with self.ctx.runtime.connection() as conn:
            yield conn

    def auth(self, role: Role, subject: str, *, unit: str | None = None, scope: str | None = None) -> dict[str, str]:
        return bearer(role, subject, unit=unit, scope=scope, issued_at=self.clock.now())

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(Role.ADMIN, "平安办管理员")

    async def metrics(self) -> str:
        """The service's metrics, from its metrics port."""
        return await scrape(self.service)

    async def enqueue(self, requests: Sequence[NotificationRequest]) -> int:
        async with self.ctx.runtime.connection() as conn, conn.transaction():
            return await enqueue_notifications(conn, requests)

    async def advance(self, seconds: float) -> None:
        self.clock.set(self.clock.now() + timedelta(seconds=seconds))

    async def until(self, check: Callable[[], Any], what: str, timeout: float = 20) -> None:
        """Wait for ``check()`` (plain or async) to be truthy."""
        async def checked() -> Any:
            result = check()
            return await result if inspect.isawaitable(result) else result
        await eventually(checked, timeout=timeout, interval=0.25, what=what)

    async def quiet_for(self, seconds: float) -> None:
        """Let the worker run a few rounds (to show that nothing more happens)."""
        await asyncio.sleep(seconds)

    async def message_states(self) -> list[asyncpg.Record]:
        async with self.db() as conn:
            return await conn.fetch("SELECT * FROM delivery_messages ORDER BY id")


DeliveryServiceFactory = Callable[..., Awaitable[DeliveryHarness]]


@pytest.fixture
def delivery_clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 16, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))


@pytest.fixture
async def delivery_service(database_factory: Any, platform_settings: PlatformSettings, delivery_clock: FixedClock,
                           ) -> AsyncIterator[DeliveryServiceFactory]:
    """``await delivery_service(**settings)``: a started alerts service with fast delivery settings (poll 50 ms,
    no bundling window, backoff 1 s doubling); ``database_url=`` runs a second replica on the same database."""
    stack = contextlib.AsyncExitStack()
    prefix = f"t{uuid.uuid4().hex[:10]}."
    platform = platform_settings.model_copy(update={"kafka_topic_prefix": prefix})

    async def make(database_url: str | None = None, **overrides: Any) -> DeliveryHarness:
        url = database_url or await database_factory()
        values: dict[str, Any] = {"database_url": url, "delivery_poll_seconds": 0.05,
                                  "delivery_bundle_window_seconds": 0, "delivery_backoff_base_seconds": 1,
                                  "delivery_gauge_seconds": 0.2,
                                  "delivery_rate_limits": {"webhook": 0, "email": 0, "inbox": 0, "stream": 0}}
        values.update(overrides)
        service = bootstrap(platform=platform, settings=AlertsSettings(**values), clock=delivery_clock)
        own = contextlib.AsyncExitStack()
        stack.push_async_callback(own.aclose)  # closing twice is harmless: a stopped one stays stopped
        client = await own.enter_async_context(running_service(service))
        return DeliveryHarness(service, client, url, delivery_clock, own)

    try:
        yield make
    finally:
        await stack.aclose()
        await delete_topics(platform.kafka_bootstrap_servers, prefix)


class WebhookReceiver:
    """An HTTP receiver on 127.0.0.1 (port chosen by the OS) that answers ``fail_first`` requests with 503, then
    200; it keeps every request (headers and body) and the idempotency keys it accepted."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.accepted: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        self.requests.append((headers, body))
        if len(self.requests) <= self.fail_first:
            return web.Response(status=503, text="busy")
        key = headers.get("Idempotency-Key", "")
        if key not in self.accepted:  # what a receiver does with a repeat: accept it, act once
            self.accepted.append(key)
        return web.Response(status=200, text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[Callable[..., Awaitable[WebhookReceiver]]]:
    made: list[WebhookReceiver] = []

    async def make(fail_first: int = 0) -> WebhookReceiver:
        receiver = WebhookReceiver(fail_first)
        await receiver.start()
        made.append(receiver)
        return receiver

    try:
        yield make
    finally:
        for receiver in made:
            await receiver.stop()


def notification(target: str, channels: tuple[str, ...], **changes: Any) -> NotificationRequest:
    """A notification request as the escalation side makes one (an overdue 211 task's 通报 step)."""
    base = NotificationRequest(
        alert_id="a-1", dedup_key="inspection:task:t-1:overdue", kind="inspection.task-overdue", severity="high",
        summary="塘下镇消防通道堵塞整改逾期", unit_id="塘下镇", area="塘下镇", event="escalated", step_index=1,
        step_label="通报", loop=0, target=target, channels=channels, link="/v1/alerts/a-1",
        at=datetime(2026, 3, 16, 1, 0, tzinfo=UTC))
    return replace(base, **changes)


@pytest.fixture
def make_notification() -> Callable[..., NotificationRequest]:
    return notification


@contextlib.asynccontextmanager
async def serving_on_loopback(harness: DeliveryHarness) -> AsyncIterator[str]:
    """The harness's app over real HTTP on 127.0.0.1 (port chosen by the OS), for what an in-process transport
    cannot do (a stream read while it is open). The runtime is the harness's: no second lifespan."""
    config = uvicorn.Config(harness.service.app, host="127.0.0.1", port=0, lifespan="off", log_config=None,
                            access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _started(server), timeout=10, interval=0.02, what="uvicorn started")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


class SseReader:
    """Reads ``event:``/``data:`` pairs off an open Server-Sent-Events response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next_event(self, timeout: float = 10) -> tuple[str, Any]:
        async def read() -> tuple[str, Any]:
            event, data = "message", ""
            async for line in self._lines:
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    data += line.removeprefix("data:").strip()
                elif line == "" and data:
                    return event, json.loads(data)
            raise AssertionError("the stream ended")
        return await asyncio.wait_for(read(), timeout)
