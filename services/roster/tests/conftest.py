"""Fixtures for roster's tests over the real broker and database, with a clock the test moves.

``roster`` is one in-process service (fresh database, fresh topic prefix) behind a ``FixedClock`` and a timer poll
of 50 ms: move the clock, then wait for the state the timers must reach. A harness can be stopped and started
again on the same database (a restart spanning a deadline). Tokens are issued at the clock's "now".

Attendance tests build their roster straight in the tables (``seed_*``) and publish it the way publishing does
(``publish_shifts``: status published and ``roster.presence.schedule_checks`` in one transaction).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date, datetime
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import bearer, eventually, running_service
from roster import presence
from roster.bootstrap import bootstrap
from roster.context import RosterContext
from roster.settings import RosterSettings

ZONE = ZoneInfo("Asia/Shanghai")


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) moment."""
    return datetime.combine(day, dtime(hour, minute), tzinfo=ZONE)


class Roster:
    """One roster service in-process, its clock, its database and its topics."""

    def __init__(self, database_url: str, platform: PlatformSettings, clock: FixedClock,
                 settings: dict[str, Any] | None = None) -> None:
        self.database_url = database_url
        self.platform = platform
        self.clock = clock
        self.settings = settings or {}
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: httpx.AsyncClient | None = None
        self._service: Service | None = None

    async def start(self) -> None:
        assert self._stack is None, "already running"
        settings = RosterSettings(database_url=self.database_url, timer_poll_seconds=0.05, **self.settings)
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
    def ctx(self) -> RosterContext:
        ctx: RosterContext = self.service.app.state.roster
        return ctx

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the service is not running"
        return self._client

    # --- who ---------------------------------------------------------------------------------------

    def auth(self, role: Role, subject: str = "tester", *, team: str | None = None) -> dict[str, str]:
        return bearer(role, subject, team=team, issued_at=self.clock.now())

    @property
    def organiser(self) -> dict[str, str]:
        return self.auth(Role.ORGANISER, "平安办组织者")

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(Role.ADMIN, "管理员")

    def member(self, member_id: str) -> dict[str, str]:
        return self.auth(Role.MEMBER, member_id)

    async def ok(self, method: str, path: str, headers: dict[str, str], *, expect: int | tuple[int, ...] = (200, 201),
                 **kwargs: Any) -> Any:
        response = await self.client.request(method, path, headers=headers, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in wanted, f"{method} {path}: {response.status_code} {response.text[:800]}"
        return response.json()

    async def until(self, check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30) -> None:
        await eventually(check, timeout=timeout, interval=0.05, what=what)

    # --- the database --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.database_url)
        try:
            yield conn
        finally:
            await conn.close()

    async def outbox(self, type_name: str | None = None) -> list[dict[str, Any]]:
        """Every event this service enqueued (sent or not), oldest first, as envelope dicts with ``topic``."""
        async with self.db() as conn:
            rows = await conn.fetch("SELECT topic, value FROM outbox ORDER BY id")
        events = [{**json.loads(bytes(r["value"])), "topic": r["topic"]} for r in rows]
        return [e for e in events if type_name is None or e["type"] == type_name]

    async def drained(self, timeout: float = 30) -> None:
        async def empty() -> bool:
            async with self.db() as conn:
                return await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
        await self.until(empty, "the outbox drained", timeout)

    def topic(self, name: str) -> str:
        return self.platform.topic(name)

    async def topic_events(self, name: str, *, settle: float = 0.5, timeout: float = 30) -> list[dict[str, Any]]:
        """Every record on topic ``name`` (without prefix), read until as many as the outbox sent there arrived."""
        full = self.topic(name)
        async with self.db() as conn:
            sent = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = $1 AND sent_at IS NOT NULL", full)
        return await read_everything(self.platform.kafka_bootstrap_servers, full, at_least=sent, settle=settle,
                                     timeout=timeout)

    async def publish(self, events: Sequence[tuple[str, Any]]) -> None:
        """Send (topic, envelope) pairs to the broker in the order given (duplicates and reorderings are the
        caller's)."""
        producer = build_producer(self.platform.kafka_bootstrap_servers, client_id=f"test-{uuid.uuid4().hex[:6]}")
        await producer.start()
        try:
            for topic, envelope in events:
                await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
        finally:
            await producer.stop()

    # --- a roster built in the tables ------------------------------------------------------------------

    async def seed_members(self, org_id: str, members: Sequence[dict[str, Any]], *,
                           org_kind: str = "village-patrol-team") -> None:
        """An organisation and its members: dicts with member_id, name and optionally role, team_id,
        app_member_id."""
        now = self.clock.now()
        async with self.db() as conn:
            await conn.execute("INSERT INTO organisations (org_id, name, kind, created_at) VALUES ($1, $2, $3, $4) "
                               "ON CONFLICT DO NOTHING", org_id, f"{org_id}组织", org_kind, now)
            for m in members:
                await conn.execute(
                    "INSERT INTO members (member_id, name, org_id, role, team_id, app_member_id, created_at, "
                    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    m["member_id"], m["name"], org_id, m.get("role", "patrol-member"), m.get("team_id"),
                    m.get("app_member_id"), now)

    async def seed_period(self, period_id: str, starts_on: date, ends_on: date, *,
                          programme_id: str = "P-塘下") -> None:
        now = self.clock.now()
        async with self.db() as conn:
            await conn.execute("INSERT INTO programmes (programme_id, name, level, area, created_at) "
                               "VALUES ($1, '塘下镇轮值轮训', 'township', '塘下镇', $2) ON CONFLICT DO NOTHING",
                               programme_id, now)
            await conn.execute("INSERT INTO periods (period_id, programme_id, name, starts_on, ends_on, created_at) "
                               "VALUES ($1, $2, $1, $3, $4, $5)", period_id, programme_id, starts_on, ends_on, now)

    async def seed_shift(self, shift_id: str, period_id: str, starts_at: datetime, ends_at: datetime,
                         members: Sequence[str], *, kind: str = "road-patrol", title: str = "塘下镇夜间巡逻",
                         area: str | None = "塘下镇", route_id: str | None = "R-1",
                         team_id: str | None = None) -> None:
        """A planned shift (one duty of its own) with its assignees."""
        now = self.clock.now()
        start_local, end_local = starts_at.astimezone(ZONE), ends_at.astimezone(ZONE)
        async with self.db() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO duties (duty_id, period_id, kind, title, area, route_id, team_id, start_time, end_time, "
                "required_size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                f"D-{shift_id}", period_id, kind, title, area, route_id, team_id, start_local.time(),
                end_local.time(), max(1, len(members)), now)
            await conn.execute(
                "INSERT INTO shifts (shift_id, period_id, duty_id, day, kind, title, area, route_id, team_id, "
                "starts_at, ends_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                shift_id, period_id, f"D-{shift_id}", start_local.date(), kind, title, area, route_id, team_id,
                starts_at, ends_at, now)
            for member_id in members:
                await conn.execute("INSERT INTO shift_assignments (shift_id, member_id, roster_version, source, "
                                   "assigned_at) VALUES ($1, $2, 1, 'solver', $3)", shift_id, member_id, now)

    async def publish_shifts(self, shift_ids: Sequence[str]) -> None:
        """What publishing does for attendance: the shifts published and their checks armed, in one transaction."""
        async with self.service.runtime.connection() as conn, conn.transaction():
            await conn.execute("UPDATE shifts SET status = 'published', roster_version = 1, updated_at = $2 "
                               "WHERE shift_id = ANY($1::text[])", list(shift_ids), self.clock.now())
            await presence.schedule_checks(conn, self.ctx, shift_ids)

    async def presence_row(self, shift_id: str, member_id: str) -> dict[str, Any] | None:
        async with self.db() as conn:
            row = await conn.fetchrow("SELECT * FROM shift_presence WHERE shift_id = $1 AND member_id = $2",
                                      shift_id, member_id)
        return dict(row) if row is not None else None


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
async def roster_factory(database_factory: Any, platform_settings: PlatformSettings,
                         ) -> AsyncIterator[Callable[..., Awaitable[Roster]]]:
    """``await roster_factory(clock, **settings)``: a started service on a fresh database and topic prefix."""
    made: list[Roster] = []

    async def make(clock: FixedClock, **settings: Any) -> Roster:
        prefix = f"t{uuid.uuid4().hex[:10]}."
        platform = platform_settings.model_copy(update={"kafka_topic_prefix": prefix})
        harness = Roster(await database_factory(), platform, clock, settings)
        await harness.start()
        made.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in reversed(made):
            await harness.stop()
