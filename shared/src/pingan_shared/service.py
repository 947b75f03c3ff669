"""One process per service: HTTP API + metrics port + inbox consumers + outbox relay + durable timers, one loop.

Each service's ``bootstrap()`` builds a ``ServiceRuntime`` (nothing connects at construction) and a
FastAPI app whose lifespan starts and stops it. ``pingan_shared.service_process.run_service`` serves it
with uvicorn as a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI

from pingan_shared.broker_link import BrokerRefused, BrokerStatus, until_reachable
from pingan_shared.broker_link import watch as watch_broker
from pingan_shared.clock import Clock, clock_from_settings
from pingan_shared.db.errors import connection
from pingan_shared.db.migrations import (
    Migration,
    apply_migrations,
    load_migrations,
    pending_migrations,
    platform_migrations,
)
from pingan_shared.db.pool import ConnectionLiveness, create_pool
from pingan_shared.events.catalog import CATALOG, compacted_topics, deadletter_topic
from pingan_shared.events.factory import EventFactory
from pingan_shared.logs import get_logger
from pingan_shared.messaging.consumer import ConsumerSpec, InboxConsumer
from pingan_shared.messaging.housekeeping import Housekeeper
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.messaging.outbox import OutboxGauges, OutboxRelay
from pingan_shared.metrics import Metrics
from pingan_shared.metrics_server import MetricsServer
from pingan_shared.readiness import Readiness
from pingan_shared.settings import PlatformSettings, ServiceSettings
from pingan_shared.timer_runner import TimerRunner
from pingan_shared.timers import TimerHandler

log = get_logger(__name__)

# How long start() waits for the broker's clients before serving without them (a broker that refuses
# connections fails at once; an unreachable address takes up to a connect timeout).
BROKER_START_GRACE_SECONDS = 15.0
# How often the broker is probed for /ready's body and pingan_broker_up, and how long a probe may take.
BROKER_PROBE_SECONDS = 5.0
BROKER_PROBE_TIMEOUT_SECONDS = 3.0


@dataclass
class ServiceRuntime:
    name: str
    platform: PlatformSettings
    settings: ServiceSettings
    clock: Clock
    migrations: Sequence[Migration] = ()
    produces: Sequence[str] = ()  # catalog topic names, without prefix
    consumers: Sequence[ConsumerSpec] = ()
    timer_handlers: Mapping[str, TimerHandler] = field(default_factory=dict)
    # A service's own long-running loops (a delivery worker, an auditor, a stream app): name → a function that
    # makes the coroutine, called once the pool is up. They run and stop with the service like its relay.
    background: Mapping[str, Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=dict)
    # Loops this replica's own HTTP routes need (a LISTEN hub feeding a stream route): they run on every replica,
    # intake replicas too, where ``background`` does not.
    serving: Mapping[str, Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=dict)
    metrics: Metrics = field(init=False)
    events: EventFactory = field(init=False)
    broker: BrokerStatus = field(init=False)
    failure: BaseException | None = field(default=None, init=False)
    # In a service process a dying background loop stops the process (see _on_task_done); a test that runs
    # the service in-process turns this off and checks ``failure`` instead of being killed with it.
    exit_on_failure: bool = field(default=True, init=False)
    stop_grace_seconds: float = field(default=10.0, init=False)
    # Where the metrics are served: the settings' metrics host and port unless set here. A test running services
    # in-process sets ("127.0.0.1", 0), so several can run at once beside a stack holding the configured ports.
    metrics_listen: tuple[str, int] | None = field(default=None, init=False)
    _metrics_server: MetricsServer | None = field(default=None, init=False)
    _pool: asyncpg.Pool | None = field(default=None, init=False)
    _outbox_gauges: OutboxGauges | None = field(default=None, init=False)
    _producer: AIOKafkaProducer | None = field(default=None, init=False)
    _consumers: list[InboxConsumer] = field(default_factory=list, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _broker_settled: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.name)
        self.events = EventFactory(self.name, self.clock, self.platform.kafka_topic_prefix)
        self.broker = BrokerStatus(self.metrics.broker_up)

    @classmethod
    def for_service(
        cls,
        name: str,
        settings: ServiceSettings,
        *,
        platform: PlatformSettings | None = None,
        clock: Clock | None = None,
        produces: Sequence[str] = (),
        consumers: Sequence[ConsumerSpec] = (),
        timer_handlers: Mapping[str, TimerHandler] | None = None,
    ) -> ServiceRuntime:
        """The runtime of service ``name``: migrations from the ``name`` package, platform settings from
        the environment and the clock they configure, unless a test passes its own."""
        platform = platform or PlatformSettings()
        return cls(
            name=name,
            platform=platform,
            settings=settings,
            clock=clock or clock_from_settings(platform),
            migrations=load_migrations(name, name),
            produces=produces,
            consumers=consumers,
            timer_handlers=timer_handlers or {},
        )

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{self.name} runtime is not started")
        return self._pool

    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A pooled connection for a request or a job (see ``pingan_shared.db.errors.connection``)."""
        return connection(self.pool)

    @property
    def metrics_address(self) -> tuple[str, int]:
        """The host and port the metrics are served on, once started (the port chosen, for port 0)."""
        if self._metrics_server is None:
            raise RuntimeError(f"{self.name} runtime is not started")
        return self._metrics_server.address

    @property
    def deadletter_topic(self) -> str:
        return self.platform.topic(deadletter_topic(self.name))

    def own_consumers(self) -> Sequence[ConsumerSpec]:
        """The consumer groups this replica joins: none on an intake replica (``run_consumers`` false)."""
        return self.consumers if self.settings.run_consumers else ()

    def own_background(self) -> Mapping[str, Callable[[], Coroutine[Any, Any, None]]]:
        """The service's own loops this replica runs: none on an intake replica."""
        return self.background if self.settings.run_consumers else {}

    @property
    def uses_broker(self) -> bool:
        """False for a service that produces and consumes no events (the console, which talks to the others over
        HTTP only): it starts no producer, creates no topics and its readiness does not mention the broker."""
        return bool(self.produces or self.consumers)

    def all_migrations(self) -> list[Migration]:
        return [*platform_migrations(), *self.migrations]

    def topics(self) -> list[str]:
        names = set(self.produces)
        for spec in self.consumers:
            names.update(spec.subscribed_topics(CATALOG))
        return sorted({self.platform.topic(n) for n in names} | {self.deadletter_topic})

    async def start(self) -> None:
        """Database and migrations first (a service cannot take writes without them, so these fail the
        start); the broker's clients come up in the background, so intake does not depend on the broker."""
        self._pool = await create_pool(self.settings.database_url, max_size=self.settings.database_pool_size,
                                       liveness=ConnectionLiveness.from_settings(self.settings))
        async with self._pool.acquire() as conn:
            applied = await apply_migrations(conn, self.all_migrations())
        if applied:
            log.info("migrations applied", migrations=[f"{m.component}/{m.version:04d}_{m.name}" for m in applied])
        host, port = self.metrics_listen or (self.settings.metrics_host, self.settings.metrics_port)
        metrics_server = MetricsServer(self.metrics, host, port)
        try:
            await metrics_server.start()  # a port taken fails the start, as the API port does
        except BaseException:
            self._pool.terminate()
            self._pool = None
            raise
        self._metrics_server = metrics_server
        housekeeper = Housekeeper(
            self._pool, outbox_retention=timedelta(hours=self.settings.outbox_retention_hours),
            inbox_retention=timedelta(days=self.settings.inbox_retention_days),
            interval_seconds=self.settings.housekeeping_interval_seconds,
        )
        self._spawn("housekeeping", housekeeper.run())
        # The outbox is counted from now on, on every replica: its backlog grows exactly while nothing
        # publishes (no broker yet, or another replica's relay holding the lock).
        self._outbox_gauges = OutboxGauges(self._pool, self.metrics)
        self._spawn("outbox-gauges", self._outbox_gauges.run())
        if self.timer_handlers:
            runner = TimerRunner(self._pool, self.clock, self.timer_handlers, self.metrics,
                                 poll_seconds=self.settings.timer_poll_seconds,
                                 handler_timeout_seconds=self.settings.timer_handler_timeout_seconds)
            self._spawn("timers", runner.run())
        for job_name, make_job in {**self.serving, **self.own_background()}.items():
            self._spawn(job_name, make_job())
        if self.uses_broker:
            self._broker_settled.clear()
            self._spawn("broker", self._connect_broker())
            # When the broker answers, its clients are up before the service serves: consumer.start() returns
            # once the group gave the consumer its partitions (aiokafka waits for the assignment when the topics
            # are given at construction), so consumers are members of their group from the first request.
            # When a step fails (broker away or refusing), serve at once; when it is slow, after the grace.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._broker_settled.wait(), BROKER_START_GRACE_SECONDS)
        log.info("service started", topics=self.topics() if self.uses_broker else [],
                 broker=self.broker.describe() if self.uses_broker else "not used",
                 consumers=[c.group_id for c in self._consumers],
                 metrics="http://{}:{}/metrics".format(*self.metrics_address))

    async def _connect_broker(self) -> None:
        """Topics, then the producer (the relay publishes only through a started one), then each consumer;
        each step retried until the broker answers. Then watch the broker for /ready and the metric."""
        settle = self._broker_settled.set
        await until_reachable("topics", self._ensure_topics, self.broker, on_failure=settle)
        producer = await until_reachable("producer", self._start_producer, self.broker, on_failure=settle)
        self._producer = producer
        relay = OutboxRelay(self.pool, producer, self.metrics, batch_size=self.settings.relay_batch_size,
                            gauges=self._outbox_gauges,
                            republish_window=timedelta(hours=self.settings.outbox_republish_window_hours),
                            loss_check_seconds=self.settings.outbox_loss_check_seconds,
                            ensure_topics=self._ensure_topics, topics=self.topics())
        self._spawn("outbox-relay", relay.run())
        # The groups are joined side by side: a broker holds each first JoinGroup for a while (tansu about half
        # the session timeout, Kafka its initial rebalance delay), and one after another those waits add up.
        await asyncio.gather(*(self._join(spec, settle) for spec in self.own_consumers()))
        settle()
        log.info("broker clients started", consumers=[c.group_id for c in self._consumers])
        await watch_broker(producer, self.broker, every_seconds=BROKER_PROBE_SECONDS,
                           timeout_seconds=BROKER_PROBE_TIMEOUT_SECONDS)

    async def _join(self, spec: ConsumerSpec, settle: Callable[[], None]) -> None:
        """Start ``spec``'s consumer (retried until the broker answers) and its loop; kept at once, so a stop
        that comes while another group is still joining stops this one too."""
        consumer = await until_reachable(f"consumer {spec.group_id}", functools.partial(self._start_consumer, spec),
                                         self.broker, on_failure=settle)
        self._consumers.append(consumer)
        self._spawn(f"consumer:{spec.group_id}", consumer.run())

    async def _ensure_topics(self) -> None:
        try:
            await ensure_topics(
                self.platform.kafka_bootstrap_servers, self.topics(),
                partitions=self.platform.kafka_topic_partitions,
                replication_factor=self.platform.kafka_replication_factor,
                compacted=compacted_topics(self.platform.kafka_topic_prefix),
            )
        except KafkaError:  # no answer, or an error aiokafka raised (broker_link tells which kind)
            raise
        except RuntimeError as exc:
            # ensure_topics' own error: the broker answered CreateTopics with an error code for a topic
            # (replication factor above the broker count, not authorised, an invalid config)
            raise BrokerRefused(str(exc)) from exc

    async def _start_producer(self) -> AIOKafkaProducer:
        producer = build_producer(self.platform.kafka_bootstrap_servers, client_id=self.name)
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):  # a failed start leaves a client to close; the next try builds anew
                await producer.stop()
            raise
        return producer

    async def _start_consumer(self, spec: ConsumerSpec) -> InboxConsumer:
        consumer = InboxConsumer(
            service=self.name, spec=spec, pool=self.pool, clock=self.clock, metrics=self.metrics,
            bootstrap_servers=self.platform.kafka_bootstrap_servers,
            topic_prefix=self.platform.kafka_topic_prefix, deadletter_topic=self.deadletter_topic,
            batch_size=self.settings.consumer_batch_size,
            session_timeout_ms=self.platform.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.platform.kafka_heartbeat_interval_ms,
        )
        try:
            await consumer.start()
        except BaseException:
            with contextlib.suppress(Exception):  # an aiokafka consumer cannot be started twice: build anew
                await consumer.stop()
            raise
        return consumer

    def _spawn(self, name: str, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine, name=f"{self.name}:{name}")
        task.add_done_callback(self._on_task_done)
        self._tasks.append(task)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        # A background loop that ends is a bug or an unrecoverable fault: stop the process loudly
        # so the supervisor (pingan up, compose, Kubernetes) restarts it, rather than serve half-alive.
        self.failure = error or RuntimeError(f"{task.get_name()} ended unexpectedly")
        log.error("background task died; shutting down", task=task.get_name(), error=repr(self.failure),
                  exc_info=self.failure)
        if self.exit_on_failure:
            os.kill(os.getpid(), signal.SIGTERM)

    async def stop(self) -> None:
        """Stop everything, within a bound: a shutdown that hangs keeps a pod Terminating and a test waiting.
        A background loop that ignores its cancellation, or a connection never handed back (pool.close() waits
        for every one), is logged by name and left behind or terminated after ``stop_grace_seconds``."""
        if self._metrics_server is not None:  # first: nothing of a stopping service stays listening
            metrics_server, self._metrics_server = self._metrics_server, None
            await metrics_server.stop()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=self.stop_grace_seconds)
            for task in stuck:
                log.error("background task did not stop in time", task=task.get_name())
        self._tasks.clear()
        for consumer in self._consumers:
            with contextlib.suppress(Exception):
                await consumer.stop()
        self._consumers.clear()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), self.stop_grace_seconds)
            except TimeoutError:
                log.error("database connections still in use at shutdown; terminating them",
                          grace_seconds=self.stop_grace_seconds)
                self._pool.terminate()
            self._pool = None

    async def readiness(self) -> Readiness:
        """Ready = able to take writes: database reachable, migrations applied, background workers alive.
        The broker is reported, not required: writes wait in the outbox while it is away."""
        checks: dict[str, str] = {}
        try:
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
                pending = await pending_migrations(conn, self.all_migrations())
            checks["database"] = "ok"
            checks["migrations"] = "ok" if not pending else f"{len(pending)} pending"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
            checks["migrations"] = "unknown"
        checks["workers"] = "ok" if self.failure is None else f"failed: {self.failure!r}"
        if not self.uses_broker:
            return Readiness(checks=checks)
        return Readiness(checks=checks, reported={"broker": self.broker.describe()})

    def lifespan(self) -> Any:
        @asynccontextmanager
        async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        return _lifespan


@dataclass(frozen=True)
class Service:
    """A bootstrapped service: its runtime and its app (started by the app's lifespan)."""

    runtime: ServiceRuntime
    app: FastAPI


def create_service_app(runtime: ServiceRuntime, routers: Sequence[Any]) -> FastAPI:
    """The service's FastAPI app, its lifespan running the runtime."""
    from pingan_shared.auth import TicketKey, TokenVerifier
    from pingan_shared.http.app import Edge, create_app

    edge = Edge(
        service=runtime.name,
        # public keys only (AuthConfigurationError when none are configured: the service refuses to start)
        verifier=TokenVerifier.from_settings(runtime.platform),
        ticket_key=TicketKey.generate(),  # each process its own; shared with its replicas (pingan_shared.http.tickets)
        clock=runtime.clock,
        metrics=runtime.metrics,
        readiness=runtime.readiness,
    )
    from pingan_shared.http import directory, operations

    # every service reads its copy of the directory the same way (pingan_shared.http.directory), and shows its admins
    # its parked outbox rows and failed timers the same way (pingan_shared.http.operations)
    app = create_app(edge, [*routers, directory.router, operations.router],
                     max_request_bytes=runtime.settings.max_request_bytes, lifespan=runtime.lifespan())
    app.state.runtime = runtime
    return app
