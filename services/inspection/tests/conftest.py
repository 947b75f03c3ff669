"""Fixtures for inspection's tests over the real broker and database, with a clock the test moves.

``inspection`` is one in-process service (fresh database, fresh topic prefix) behind a ``FixedClock`` and a
timer poll of 50 ms, so a 28-day cycle runs in seconds: move the clock, then wait for the state the timers
must reach. ``inspection_factory`` makes more of them (a twin with the same story but no findings, for the
sealing comparison). A harness can be stopped and started again on the same database (a restart spanning a
deadline). Tokens are issued at the clock's "now" (they are judged by the service's clock, valid 12 h).

Helpers read what the service published: ``outbox()`` (every row its database ever enqueued, sent or not) and
``topic_events()`` (what really reached the broker on a topic, as envelopes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from inspection.bootstrap import bootstrap
from inspection.context import InspectionContext
from inspection.settings import InspectionSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import (
    TOPIC_ALERT_SIGNALS,
    TOPIC_INSPECTION_CYCLES,
    TOPIC_INSPECTION_NOTICES,
    TOPIC_INSPECTION_TASKS,
)
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, eventually, running_service

ZONE = ZoneInfo("Asia/Shanghai")
INSPECTION_TOPICS = (TOPIC_INSPECTION_CYCLES, TOPIC_INSPECTION_NOTICES, TOPIC_INSPECTION_TASKS, TOPIC_ALERT_SIGNALS,
                     "deadletter.inspection")
INSPECTOR_NAME = "暗访检查员王五"
MEMBER_NAME = "监督团成员李娜"


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) moment."""
    return datetime.combine(day, dtime(hour, minute), tzinfo=ZONE)


class Inspection:
    """One inspection service in-process, its clock, its database and its topics."""

    def __init__(self, database_url: str, platform: PlatformSettings, clock: FixedClock) -> None:
        self.database_url = database_url
        self.platform = platform
        self.clock = clock
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: httpx.AsyncClient | None = None
        self._service: Service | None = None

    # --- life ------------------------------------------------------------------------------------

    async def start(self) -> None:
        assert self._stack is None, "already running"
        settings = InspectionSettings(database_url=self.database_url, timer_poll_seconds=0.05)
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
    def ctx(self) -> InspectionContext:
        """The running service's context, for calling a use case the way its handlers do."""
        ctx: InspectionContext = self.service.app.state.inspection
        return ctx

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the service is not running"
        return self._client

    # --- who ---------------------------------------------------------------------------------------

    def auth(self, role: Role, subject: str, unit: str | None = None) -> dict[str, str]:
        return bearer(role, subject, unit=unit, issued_at=self.clock.now())

    @property
    def inspector(self) -> dict[str, str]:
        return self.auth(Role.INSPECTOR, INSPECTOR_NAME)

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(Role.ADMIN, "平安办管理员")

    @property
    def supervisor(self) -> dict[str, str]:
        return self.auth(Role.SUPERVISOR, "市委政法委督查室")

    def member(self, name: str = MEMBER_NAME) -> dict[str, str]:
        return self.auth(Role.SUPERVISION_MEMBER, name)

    def unit(self, unit_id: str) -> dict[str, str]:
        return self.auth(Role.UNIT, f"联络员-{unit_id}", unit=unit_id)

    # --- HTTP shortcuts ------------------------------------------------------------------------

    async def ok(self, method: str, path: str, headers: dict[str, str], *, expect: int | tuple[int, ...] = (200, 201),
                 **kwargs: Any) -> Any:
        response = await self.client.request(method, path, headers=headers, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in wanted, f"{method} {path}: {response.status_code} {response.text[:800]}"
        return response.json()

    async def all_pages(self, path: str, headers: dict[str, str], params: dict[str, Any] | None = None,
                        limit: int = 500) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        after: Any = None
        for _ in range(1000):
            query = {**(params or {}), "limit": limit}
            if after is not None:
                query["after"] = after
            page = await self.ok("GET", path, headers, expect=200, params=query)
            items.extend(page["items"])
            after = page["next_after"]
            if after is None:
                return items
        raise AssertionError(f"{path}: paging never ended")

    async def until(self, check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30) -> None:
        await eventually(check, timeout=timeout, interval=0.05, what=what)

    async def advance_to(self, moment: datetime) -> None:
        assert moment >= self.clock.now(), "time only moves forward"
        self.clock.set(moment)

    async def cycle(self, cycle_id: str) -> dict[str, Any]:
        return await self.ok("GET", f"/v1/cycles/{cycle_id}", self.inspector, expect=200)

    async def wait_phase(self, cycle_id: str, phase: str, timeout: float = 30) -> dict[str, Any]:
        async def reached() -> bool:
            return (await self.cycle(cycle_id))["phase"] == phase
        await self.until(reached, f"cycle {cycle_id} in phase {phase}", timeout)
        return await self.cycle(cycle_id)

    # --- what was published ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.database_url)
        try:
            yield conn
        finally:
            await conn.close()

    async def outbox(self) -> list[dict[str, Any]]:
        """Every event this service enqueued (sent or not), oldest first, as envelope dicts with ``topic``."""
        async with self.db() as conn:
            rows = await conn.fetch("SELECT topic, value FROM outbox ORDER BY id")
        return [{**json.loads(bytes(r["value"])), "topic": r["topic"]} for r in rows]

    async def drained(self, timeout: float = 30) -> None:
        """Wait until the relay has published everything enqueued so far."""
        async def empty() -> bool:
            async with self.db() as conn:
                return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
        await self.until(empty, "the outbox drained", timeout)

    def topic(self, name: str) -> str:
        return self.platform.topic(name)

    async def topic_events(self, name: str, *, settle: float = 1.0, timeout: float = 30) -> list[dict[str, Any]]:
        """Every record on topic ``name`` (without prefix) as envelope dicts: read until at least as many as the
        outbox says were sent there have arrived, then ``settle`` seconds more for any re-publication."""
        full = self.topic(name)
        async with self.db() as conn:
            sent = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = $1 AND sent_at IS NOT NULL", full)
        return await read_everything(self.platform.kafka_bootstrap_servers, full, at_least=sent, settle=settle,
                                     timeout=timeout)

    async def all_inspection_events(self) -> dict[str, list[dict[str, Any]]]:
        await self.drained()
        return {name: await self.topic_events(name, settle=0.5) for name in INSPECTION_TOPICS}

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


async def read_everything(bootstrap_servers: str, topic: str, *, at_least: int, settle: float,
                          timeout: float = 30) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            got = [r for rs in batch.values() for r in rs]
            records.extend(json.loads(r.value) for r in got)
            if len(records) >= at_least:
                if got or quiet_since is None:
                    quiet_since = time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    break
    finally:
        await consumer.stop()
    if len(records) < at_least:
        raise AssertionError(f"{topic}: expected at least {at_least} records, got {len(records)} in {timeout} s")
    return records


@pytest.fixture
async def inspection_factory(database_factory: Any, platform_settings: PlatformSettings,
                             ) -> AsyncIterator[Callable[..., Awaitable[Inspection]]]:
    """``await inspection_factory(clock)``: a started service on a fresh database and a fresh topic prefix."""
    made: list[Inspection] = []

    async def make(clock: FixedClock) -> Inspection:
        prefix = f"t{uuid.uuid4().hex[:10]}."
        platform = platform_settings.model_copy(update={"kafka_topic_prefix": prefix})
        harness = Inspection(await database_factory(), platform, clock)
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
    """The evening before a Monday cycle start: 2026-03-01 10:00 Asia/Shanghai."""
    return FixedClock(local(date(2026, 3, 1), 10))


@pytest.fixture
async def inspection(inspection_factory: Callable[..., Awaitable[Inspection]], clock: FixedClock) -> Inspection:
    return await inspection_factory(clock)
