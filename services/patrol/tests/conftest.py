"""Fixtures for patrol's round tests over the real broker and database, with a clock the test moves.

``patrol`` is one in-process service (fresh database, fresh topic prefix) behind a ``FixedClock`` and a timer
poll of 50 ms, so a night runs in seconds: move the clock, then wait for the state the timers and the rounds
consumer must reach. A harness can be stopped and started again on the same database (a restart spanning a
window's close). Tokens are issued at the clock's "now".

Helpers read what the service published: ``outbox()`` (every row its database ever enqueued) and ``signals()``
(the alert signals among them, as (action, dedup key) pairs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from patrol.bootstrap import bootstrap
from patrol.context import PatrolContext
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, eventually, running_service

ZONE = ZoneInfo("Asia/Shanghai")


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) moment."""
    return datetime.combine(day, dtime(hour, minute), tzinfo=ZONE)


class Patrol:
    """One patrol service in-process, its clock, its database and its topics."""

    def __init__(self, database_url: str, platform: PlatformSettings, clock: FixedClock, **settings: Any) -> None:
        self.database_url = database_url
        self.platform = platform
        self.clock = clock
        self.settings = settings
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: httpx.AsyncClient | None = None
        self._service: Service | None = None

    async def start(self) -> None:
        assert self._stack is None, "already running"
        settings = PatrolSettings(database_url=self.database_url, timer_poll_seconds=0.05, **self.settings)
        service = bootstrap(platform=self.platform, settings=settings, clock=self.clock)
        stack = contextlib.AsyncExitStack()
        self._client = await stack.enter_async_context(running_service(service))
        self._stack, self._service = stack, service

    async def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._client, self._service = self._stack, None, None, None
            await stack.aclose()

    @property
    def service(self) -> Service:
        assert self._service is not None, "the service is not running"
        return self._service

    @property
    def ctx(self) -> PatrolContext:
        ctx: PatrolContext = self.service.app.state.patrol
        return ctx

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the service is not running"
        return self._client

    # --- who ---------------------------------------------------------------------------------------

    def auth(self, role: Role, subject: str, *, team: str | None = None, scope: str | None = None) -> dict[str, str]:
        return bearer(role, subject, team=team, scope=scope, issued_at=self.clock.now())

    @property
    def organiser(self) -> dict[str, str]:
        return self.auth(Role.ORGANISER, "瑞安市平安办")

    @property
    def supervisor(self) -> dict[str, str]:
        return self.auth(Role.SUPERVISOR, "市委政法委督查室")

    def device(self, team: str) -> dict[str, str]:
        return self.auth(Role.PATROL_DEVICE, f"device-{team}", team=team)

    # --- HTTP shortcuts ------------------------------------------------------------------------

    async def ok(self, method: str, path: str, headers: dict[str, str], *, expect: int | tuple[int, ...] = (200, 201),
                 **kwargs: Any) -> Any:
        response = await self.client.request(method, path, headers=headers, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in wanted, f"{method} {path}: {response.status_code} {response.text[:800]}"
        return response.json()

    async def until(self, check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30) -> None:
        await eventually(check, timeout=timeout, interval=0.05, what=what)

    async def advance_to(self, moment: datetime) -> None:
        assert moment >= self.clock.now(), "time only moves forward"
        self.clock.set(moment)

    async def scan(self, team: str, scan_id: str, checkpoint_id: str, at: datetime, member: str = "张三") -> None:
        body = {"scan_id": scan_id, "member_id": member, "team_id": team, "checkpoint_id": checkpoint_id,
                "device_time": at.isoformat()}
        await self.ok("POST", "/v1/scans", self.device(team), json=body, expect=201)

    async def scans(self, team: str, items: list[tuple[str, str, datetime]], member: str = "张三") -> dict[str, Any]:
        body = {"scans": [{"scan_id": s, "member_id": member, "team_id": team, "checkpoint_id": c,
                           "device_time": t.isoformat()} for s, c, t in items]}
        answer: dict[str, Any] = await self.ok("POST", "/v1/scans", self.device(team), json=body, expect=200)
        return answer

    # --- what is stored and published ------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.database_url)
        try:
            yield conn
        finally:
            await conn.close()

    async def outbox(self, type_prefix: str = "") -> list[dict[str, Any]]:
        """Every event this service enqueued (sent or not), oldest first, as envelope dicts with ``topic``."""
        async with self.db() as conn:
            rows = await conn.fetch("SELECT topic, value FROM outbox ORDER BY id")
        events = [{**json.loads(bytes(r["value"])), "topic": r["topic"]} for r in rows]
        return [e for e in events if e["type"].startswith(type_prefix)]

    async def signals(self) -> list[tuple[str, str]]:
        return [(e["payload"]["action"], e["payload"]["dedup_key"]) for e in await self.outbox("alerts.signal")]

    async def attached(self) -> int:
        async with self.db() as conn:
            count: int = await conn.fetchval("SELECT count(*) FROM round_scans")
        return count

    async def publish(self, events: list[tuple[str, Any]]) -> None:
        """Send (topic, envelope) pairs to the broker in the order given (duplicates and reorderings are the
        caller's)."""
        producer = build_producer(self.platform.kafka_bootstrap_servers, client_id=f"test-{uuid.uuid4().hex[:6]}")
        await producer.start()
        try:
            for topic, envelope in events:
                await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
        finally:
            await producer.stop()


@pytest.fixture
async def patrol_factory(database_factory: Any, platform_settings: PlatformSettings,
                         ) -> AsyncIterator[Callable[..., Awaitable[Patrol]]]:
    """``await patrol_factory(clock, **settings)``: a started service on a fresh database and topic prefix."""
    made: list[Patrol] = []

    async def make(clock: FixedClock, **settings: Any) -> Patrol:
        prefix = f"t{uuid.uuid4().hex[:10]}."
        platform = platform_settings.model_copy(update={"kafka_topic_prefix": prefix})
        harness = Patrol(await database_factory(), platform, clock, **settings)
        await harness.start()
        made.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in reversed(made):
            await harness.stop()
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FixedClock:
    """An afternoon before tonight's patrols: 2026-03-02 16:00 Asia/Shanghai."""
    return FixedClock(local(date(2026, 3, 2), 16))


@pytest.fixture
async def patrol(patrol_factory: Callable[..., Awaitable[Patrol]], clock: FixedClock) -> Patrol:
    return await patrol_factory(clock)
