"""A service in-process for its tests: real database and broker, a ``FixedClock`` the test moves.

``ServiceHarness`` is what every service's test harness shares: start, stop and start again on the same database
(a restart spanning a deadline), the HTTP client, its metrics (``metrics``) and the service's context, tokens issued
at the clock's "now", waiting for a state (``until``), moving the clock, and reading what the service stored and
published (``db``, ``outbox``, ``drained``, ``topic_events``, ``publish``). A service's harness (in its
``tests/conftest.py``) names its context attribute and how it is bootstrapped, and adds its own roles, shortcuts
and seed helpers.

``harnesses`` makes them for a factory fixture: each on a fresh database and topic prefix (or a twin on another's),
all stopped when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, ClassVar, Generic, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.service import Service
from pingan_shared.service_context import ServiceContext
from pingan_shared.settings import PlatformSettings
from pingan_stack.test_databases import WITH_DIRECTORY
from pingan_stack.test_topics import delete_topics
from pingan_stack.testing import bearer, eventually, read_everything, running_service, scrape

ZONE = ZoneInfo("Asia/Shanghai")

ContextT = TypeVar("ContextT", bound=ServiceContext[Any])
HarnessT = TypeVar("HarnessT", bound="ServiceHarness[Any]")


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) moment."""
    return datetime.combine(day, dtime(hour, minute), tzinfo=ZONE)


async def answer(client: httpx.AsyncClient, method: str, path: str, headers: Mapping[str, str], *,
                 expect: int | tuple[int, ...], what: str = "", **kwargs: Any) -> Any:
    """``method path`` through ``client``: the decoded answer (None for an empty body), once its status is one of
    ``expect`` (``what`` names the service in the failure)."""
    response = await client.request(method, path, headers=dict(headers), **kwargs)
    wanted = (expect,) if isinstance(expect, int) else expect
    assert response.status_code in wanted, (
        f"{what}{method} {path}: {response.status_code} {response.text[:800]}")
    return response.json() if response.content else None


def fresh_platform(platform: PlatformSettings) -> PlatformSettings:
    """The platform settings with a topic prefix of their own (hence fresh topics and consumer groups)."""
    return platform.model_copy(update={"kafka_topic_prefix": f"t{uuid.uuid4().hex[:10]}."})


class ServiceHarness(Generic[ContextT]):
    """One service in-process, its clock, its database and its topics.

    A subclass sets ``state_attribute`` (where its bootstrap keeps the context on ``app.state``) and ``build``
    (bootstrap the service from ``self.settings``); ``defaults`` are the settings every instance starts from (none
    here: the timers keep their poll of a second, since a timer armed or the clock moved wakes the runner at once),
    the keyword arguments of the constructor override them."""

    state_attribute: ClassVar[str]  # the service's name, which is also its migrations' package
    defaults: ClassVar[Mapping[str, Any]] = {}
    topic_settle: ClassVar[float] = 1.0  # how long ``topic_events`` waits for re-publications by default
    # Whether the service's copy of the directory starts with the test city (pingan_stack.sample_directory): for a
    # service whose doors check codes against it.
    with_directory: ClassVar[bool] = False

    def __init__(self, database_url: str, platform: PlatformSettings, clock: FixedClock, **settings: Any) -> None:
        self.database_url = database_url
        self.platform = platform
        self.clock = clock
        self.settings: dict[str, Any] = {**self.defaults, **settings}
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: httpx.AsyncClient | None = None
        self._service: Service | None = None

    def build(self) -> Service:
        """The service to run, bootstrapped on ``self.database_url``, ``self.platform``, ``self.clock`` and
        ``self.settings``."""
        raise NotImplementedError

    # --- life ------------------------------------------------------------------------------------

    async def start(self) -> None:
        assert self._stack is None, "already running"
        service = self.build()
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
    def ctx(self) -> ContextT:
        """The running service's context, for calling a use case the way its handlers do."""
        ctx: ContextT = getattr(self.service.app.state, self.state_attribute)
        return ctx

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "the service is not running"
        return self._client

    async def metrics(self) -> str:
        """The service's metrics, from its metrics port (an ephemeral one in tests)."""
        return await scrape(self.service)

    # --- who ---------------------------------------------------------------------------------------

    def auth(self, role: Role, subject: str = "tester", *, team: str | None = None, unit: str | None = None,
             scope: str | None = None) -> dict[str, str]:
        """Headers with a token issued at the clock's "now" (the service judges it by the same clock)."""
        return bearer(role, subject, team=team, unit=unit, scope=scope, issued_at=self.clock.now())

    # --- HTTP ----------------------------------------------------------------------------------------

    async def ok(self, method: str, path: str, headers: dict[str, str], *, expect: int | tuple[int, ...] = (200, 201),
                 **kwargs: Any) -> Any:
        """The decoded answer (None for an empty body), once its status is one of ``expect``."""
        return await answer(self.client, method, path, headers, expect=expect, **kwargs)

    # --- time ----------------------------------------------------------------------------------------

    async def until(self, check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30) -> None:
        await eventually(check, timeout=timeout, interval=0.25, what=what)

    async def advance_to(self, moment: datetime) -> None:
        assert moment >= self.clock.now(), "time only moves forward"
        self.clock.set(moment)

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    # --- what is stored and published ------------------------------------------------------------

    async def prepare_connection(self, conn: asyncpg.Connection) -> None:
        """Set up a connection ``db()`` opens (type codecs): nothing by default."""

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of its own to the service's database."""
        conn = await asyncpg.connect(self.database_url)
        try:
            await self.prepare_connection(conn)
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

    async def topic_events(self, name: str, *, settle: float | None = None,
                           timeout: float = 30) -> list[dict[str, Any]]:
        """Every record on topic ``name`` (without prefix) as envelope dicts: read until at least as many as the
        outbox says were sent there have arrived, then ``settle`` seconds more (``topic_settle`` unless given) for
        any re-publication."""
        full = self.topic(name)
        async with self.db() as conn:
            sent = await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = $1 AND sent_at IS NOT NULL", full)
        return await read_everything(self.platform.kafka_bootstrap_servers, full, at_least=sent,
                                     settle=self.topic_settle if settle is None else settle, timeout=timeout)

    async def publish(self, events: Sequence[tuple[str, Envelope]]) -> None:
        """Send (topic, envelope) pairs to the broker in the order given (duplicates and reorderings are the
        caller's)."""
        await self.publish_records([(topic, envelope.key.encode(), envelope.to_bytes()) for topic, envelope in events])

    async def publish_records(self, records: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Send (topic, key, value) records to the broker as they are, in the order given."""
        producer = build_producer(self.platform.kafka_bootstrap_servers, client_id=f"test-{uuid.uuid4().hex[:6]}")
        await producer.start()
        try:
            for topic, key, value in records:
                await (await producer.send(topic, value=value, key=key))
        finally:
            await producer.stop()


@contextlib.asynccontextmanager
async def harnesses(harness_type: type[HarnessT], database_factory: Callable[..., Awaitable[str]],
                    platform: PlatformSettings) -> AsyncIterator[Callable[..., Awaitable[HarnessT]]]:
    """For a factory fixture: ``await make(clock, **settings)``, a started harness on a fresh database and topic
    prefix; ``twin_of=other``, a second instance on the other's database and topics (same consumer groups, its
    settings unless overridden); ``start=False``, not started yet. Every one made is stopped at the end."""
    made: list[HarnessT] = []

    async def make(clock: FixedClock, *, twin_of: HarnessT | None = None, start: bool = True,
                   **settings: Any) -> HarnessT:
        if twin_of is not None:
            harness = harness_type(twin_of.database_url, twin_of.platform, clock, **{**twin_of.settings, **settings})
        else:
            # a copy of the service's migrated template: the service finds its tables there and migrates nothing
            database = await database_factory(template=harness_type.state_attribute
                                              + (WITH_DIRECTORY if harness_type.with_directory else ""))
            harness = harness_type(database, fresh_platform(platform), clock, **settings)
        if start:
            await harness.start()
        made.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in reversed(made):
            await harness.stop()
        # each harness had a prefix of its own: its topics go as the test's own do (testing.topic_prefix)
        for prefix in dict.fromkeys(harness.platform.kafka_topic_prefix for harness in made):
            await delete_topics(platform.kafka_bootstrap_servers, prefix)
        await asyncio.sleep(0)
