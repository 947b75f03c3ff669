"""Alerts delivery latency, for a lone escalation and for a burst, each next to a baseline measured in the same run.

What is measured, on this machine, in one run:

* **lone step due → webhook**: the alerts service in-process on the system clock (nothing moves it: the timer
  runner wakes by itself when a step falls due). ``--lone`` alerts, each for a unit of its own and raised a quarter
  of a second apart, whose first step (通报, by webhook) is due a second after the raise; per alert, the time from
  its step's due time (on its timeline) to its webhook arriving at a local aiohttp receiver. Measured twice: with
  the bundling window (``--bundle-window``, the service's default) and, as the baseline, with the window at 0.
* **broker round trip**: aiokafka produces one alert-signal envelope (acks=all, the services' producer settings)
  and one consumer reads it back, ``--lone`` times: the floor a lone event crossing the broker pays.
* **burst**: the service in-process on a controlled clock (timer poll 50 ms, delivery poll 50 ms). Seeding, not
  timed: 300 unit contacts each with a signed webhook, one policy whose first step is due 10 minutes after the
  raise, ``--alerts`` trigger signals published to the signals topic. Then the clock moves 10 minutes on: every
  escalation timer is due at once, and from then on the clock runs in real time (the window is counted on it).
  Timed, per alert, from that moment to its notification's arrival at the receiver (a bundled webhook lists
  several alerts: each arrives with it), and until all have arrived. Next to it the broker's own latency for a
  burst of as many envelopes sent at once.

The receiver runs in a process of its own (``--serve-receiver``, started by the bench), as a real one would: in
the bench's process it took the service's event loop and core for its ~1,500 requests of a burst.

    python bench/alerts_latency.py [--alerts 10000] [--units 300] [--lone 40] [--bundle-window 2] [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiohttp import ClientSession, web
from baseline import broker_pair, round_trip, run_benchmark, say, servers, wait_until

from alerts.bootstrap import bootstrap
from alerts.settings import AlertsSettings
from pingan_shared.auth import Role
from pingan_shared.clock import Clock, FixedClock, SystemClock
from pingan_shared.events.alert_contracts import AlertSignalV1, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.settings import PlatformSettings
from pingan_stack.databases import ensure_database
from pingan_stack.testing import bearer, running_service
from pingan_stack.topology import with_database

T0 = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)
KIND = "inspection.bench-overdue"  # a kind of inspection's, sent as inspection (provenance)
STEP_DELAY = timedelta(minutes=10)
SECRET = "bench-webhook-secret-0001"


def signals(count: int, units: int, prefix: str, clock: Clock | None = None) -> list[tuple[str, Envelope]]:
    # sent as inspection, on its signal topic: a source raises only keys and kinds of its own namespace
    clock = clock or FixedClock(T0)
    factory = EventFactory("inspection", clock, prefix)
    return [factory.make(ALERT_SIGNAL, AlertSignalV1(
        action=SignalAction.TRIGGER, dedup_key=f"inspection:task:bench-{i}:overdue", kind=KIND, severity="high",
        unit_id=f"U-{i % units:03d}", area=f"U-{i % units:03d}", summary=f"第{i}号整改任务逾期未整改",
        source=SourceLink(service="bench", entity_type="task", entity_id=str(i)), occurred_at=clock.now()),
        key=f"inspection:task:bench-{i}:overdue") for i in range(count)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass(frozen=True)
class Latencies:
    from_start: list[float]  # seconds from the moment everything was due
    count: int

    def line(self) -> str:
        v = self.from_start
        return (f"p50 {percentile(v, 0.5) * 1000:>8,.0f} ms   p99 {percentile(v, 0.99) * 1000:>8,.0f} ms   "
                f"max {max(v) * 1000:>8,.0f} ms   ({self.count:,} messages)")


def spread_line(values: list[float]) -> str:
    return (f"p50 {percentile(values, 0.5) * 1000:>8,.0f} ms   p99 {percentile(values, 0.99) * 1000:>8,.0f} ms   "
            f"max {max(values) * 1000:>8,.0f} ms   ({len(values):,})")


# --- the broker's own latency ----------------------------------------------------------------------

async def broker_latency(bootstrap_servers: str, messages: list[tuple[str, Envelope]]) -> tuple[Latencies, list[float]]:
    topic = messages[0][0]
    async with broker_pair(bootstrap_servers, topic, client_id="bench-latency") as (producer, consumer):
        sent_at: dict[str, float] = {}
        arrived: dict[str, float] = {}

        async def read() -> None:
            while len(arrived) < len(messages):
                batch = await consumer.getmany(timeout_ms=200, max_records=5000)
                now = time.perf_counter()
                for records in batch.values():
                    for record in records:
                        arrived[json.loads(record.value)["event_id"]] = now

        reader = asyncio.create_task(read())
        started = time.perf_counter()
        futures = []
        for _, envelope in messages:
            sent_at[str(envelope.event_id)] = time.perf_counter()
            futures.append(await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
        await asyncio.gather(*futures)
        await asyncio.wait_for(reader, 300)
        own = [arrived[k] - sent_at[k] for k in sent_at]
        return Latencies([t - started for t in arrived.values()], len(arrived)), own


async def broker_round_trips(bootstrap_servers: str, messages: list[tuple[str, Envelope]]) -> list[float]:
    """One envelope produced (acks=all) and read back by a consumer, one after the other: seconds each."""
    topic = messages[0][0]
    async with broker_pair(bootstrap_servers, topic, client_id="bench-round-trip") as (producer, consumer):
        trips = [await round_trip(producer, consumer, topic, envelope) for _, envelope in messages]
        return [trip for trip in trips if trip is not None]  # none is None: no give_up


# --- alerts ----------------------------------------------------------------------------------------

class Receiver:
    """Notes when each alert's notification first arrives (a bundle lists several). Served by a process of its own
    (``--serve-receiver``), as a real receiver is elsewhere: in the bench's process its ~1,500 requests of a burst
    took the service's event loop and core from the service being measured. Arrival times are read on
    ``time.monotonic()`` (the system's monotonic clock, the same in both processes) and on the wall clock."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.first_seen_wall: dict[str, float] = {}  # Unix seconds, for the lone run on the system clock
        self.requests = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        now, wall = time.monotonic(), time.time()
        self.requests += 1
        for item in json.loads(body)["notifications"]:
            self.first_seen.setdefault(item["alert_id"], now)
            self.first_seen_wall.setdefault(item["alert_id"], wall)
        return web.Response(text="ok")

    async def count(self, _: web.Request) -> web.Response:
        return web.json_response({"alerts": len(self.first_seen), "requests": self.requests})

    async def seen(self, _: web.Request) -> web.Response:
        return web.json_response({"first_seen": self.first_seen, "first_seen_wall": self.first_seen_wall})

    async def serve(self) -> None:
        """The receiver's process: serve until stdin closes, having printed the port."""
        app = web.Application()
        app.router.add_post("/hook/{unit}", self.handle)
        app.router.add_get("/count", self.count)
        app.router.add_get("/seen", self.seen)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()


class RemoteReceiver:
    """The bench's side of the receiver's process."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.base = ""
        self.client: ClientSession | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve-receiver", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)
        assert self.process.stdout is not None
        port = int(await self.process.stdout.readline())
        self.base = f"http://127.0.0.1:{port}"
        self.client = ClientSession()

    async def counts(self) -> tuple[int, int]:
        """(alerts notified, requests) so far."""
        assert self.client is not None
        async with self.client.get(f"{self.base}/count") as response:
            body = await response.json()
        return body["alerts"], body["requests"]

    async def seen(self) -> tuple[dict[str, float], dict[str, float]]:
        """Each alert's first arrival: monotonic seconds, and Unix seconds."""
        assert self.client is not None
        async with self.client.get(f"{self.base}/seen") as response:
            body = await response.json()
        return body["first_seen"], body["first_seen_wall"]

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            await self.process.wait()


async def tick(clock: FixedClock, due: datetime, started: float) -> None:
    while True:
        clock.set(due + timedelta(seconds=time.monotonic() - started))
        await asyncio.sleep(0.02)


@dataclass(frozen=True)
class Stage:
    """A running alerts service seeded with unit contacts and one policy, its receiver and a database connection."""

    platform: PlatformSettings
    receiver: RemoteReceiver
    conn: asyncpg.Connection


@asynccontextmanager
async def stage(server_url: str, bootstrap_servers: str, *, clock: Clock, units: int, step_delay: timedelta,
                bundle_window: float, timer_poll: float) -> AsyncIterator[Stage]:
    tag = uuid.uuid4().hex[:6]
    database = with_database(server_url, f"bench_alerts_{tag}")
    await ensure_database(server_url, database.rsplit("/", 1)[1])
    platform = PlatformSettings(kafka_bootstrap_servers=bootstrap_servers, kafka_topic_prefix=f"bench{tag}.",
                                kafka_topic_partitions=3)
    settings = AlertsSettings(
        database_url=database, timer_poll_seconds=timer_poll, delivery_poll_seconds=0.05,
        delivery_bundle_window_seconds=bundle_window,
        delivery_rate_limits={"webhook": 0, "email": 0, "inbox": 0, "stream": 0})
    receiver = RemoteReceiver()
    await receiver.start()
    service = bootstrap(platform=platform, settings=settings, clock=clock)
    try:
        async with running_service(service) as client:
            admin = bearer(Role.ADMIN, "bench", issued_at=clock.now())
            for u in range(units):
                response = await client.put(f"/v1/contacts/unit:U-{u:03d}", headers=admin, json={
                    "display_name": f"街道U-{u:03d}", "webhook_url": f"{receiver.base}/hook/U-{u:03d}",
                    "webhook_secrets": [SECRET]})
                assert response.status_code == 201, response.text
            response = await client.post("/v1/policies", headers=admin, json={
                "name": "bench", "kind": KIND, "steps": [{
                    "delay_seconds": int(step_delay.total_seconds()), "targets": ["unit:{unit}"],
                    "channels": ["webhook"], "label": "通报"}]})
            assert response.status_code == 201, response.text
            conn = await asyncpg.connect(database)
            try:
                yield Stage(platform, receiver, conn)
            finally:
                await conn.close()
    finally:
        await receiver.stop()


async def publish(bootstrap_servers: str, messages: list[tuple[str, Envelope]]) -> None:
    producer = build_producer(bootstrap_servers, client_id="bench-signals")
    await producer.start()
    try:
        futures = [await producer.send(topic, value=env.to_bytes(), key=env.key.encode()) for topic, env in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def lone_run(server_url: str, bootstrap_servers: str, count: int, bundle_window: float) -> list[float]:
    """Seconds from each lone step's due time to its webhook, on the system clock (see the module's docstring)."""
    clock = SystemClock()
    async with stage(server_url, bootstrap_servers, clock=clock, units=count, step_delay=timedelta(seconds=1),
                     bundle_window=bundle_window, timer_poll=1.0) as ready:
        producer = build_producer(bootstrap_servers, client_id="bench-lone")
        await producer.start()
        try:
            for topic, envelope in signals(count, count, ready.platform.kafka_topic_prefix, clock):
                # each alone, for a unit of its own
                await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
                await asyncio.sleep(0.25)
        finally:
            await producer.stop()
        deadline = time.monotonic() + 120
        while (notified := (await ready.receiver.counts())[0]) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {notified} of {count} lone alerts notified")
            await asyncio.sleep(0.05)
        _, first_seen_wall = await ready.receiver.seen()
        dues = {r["alert_id"]: datetime.fromisoformat(r["due"]) for r in await ready.conn.fetch(
            "SELECT alert_id, detail->>'due' AS due FROM alert_timeline WHERE kind = 'step'")}
        return [first_seen_wall[a] - due.timestamp() for a, due in dues.items()]


@dataclass(frozen=True)
class AlertsRun:
    latencies: Latencies
    webhooks: int
    seeded_in: float
    steps_fired: tuple[float, float]  # seconds until half / 99 % of the steps had fired (delivery rows written)


async def burst_run(server_url: str, bootstrap_servers: str, count: int, units: int,
                    bundle_window: float) -> AlertsRun:
    clock = FixedClock(T0)
    seeding = time.perf_counter()
    async with stage(server_url, bootstrap_servers, clock=clock, units=units, step_delay=STEP_DELAY,
                     bundle_window=bundle_window, timer_poll=0.05) as ready:
        receiver, conn = ready.receiver, ready.conn
        await publish(bootstrap_servers, signals(count, units, ready.platform.kafka_topic_prefix))
        await wait_until(conn, f"SELECT count(*) >= {count} FROM alerts", timeout=900, poll=0.05)
        await wait_until(conn, "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL", timeout=900, poll=0.05)
        seeded_in = time.perf_counter() - seeding
        assert (await receiver.counts())[1] == 0
        say(f"  seeded in {seeded_in:.1f} s; the clock moves: {count:,} steps due now")
        clock.set(T0 + STEP_DELAY)  # every alert's first step is due now
        started = time.monotonic()
        # From here the service's clock runs in real time (the bundling window is counted on it).
        ticker = asyncio.create_task(tick(clock, T0 + STEP_DELAY, started))
        deadline = time.monotonic() + 900
        fired: list[tuple[float, int]] = []  # (seconds, delivery rows): the steps fired so far
        while (notified := (await receiver.counts())[0]) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {notified} of {count} alerts notified")
            if not fired or fired[-1][1] < count:
                fired.append((time.monotonic() - started, await conn.fetchval("SELECT count(*) FROM deliveries")))
            await asyncio.sleep(0.1)
        ticker.cancel()
        first_seen, _ = await receiver.seen()
        latencies = [t - started for t in first_seen.values()]
        webhooks = await conn.fetchval("SELECT count(*) FROM delivery_messages")
        steps_fired = (next(t for t, n in fired if n >= count // 2),
                       next(t for t, n in fired if n >= count * 99 // 100))
        return AlertsRun(Latencies(latencies, count), webhooks, seeded_in, steps_fired)


async def measure(args: argparse.Namespace, workdir: Path) -> None:
    async with servers(workdir) as (postgres, kafka):
        for run in range(1, args.runs + 1):
            if args.lone:
                trips = await broker_round_trips(
                    kafka.bootstrap_servers, signals(args.lone, args.lone, f"rt{uuid.uuid4().hex[:6]}."))
                lone = await lone_run(postgres.url, kafka.bootstrap_servers, args.lone, args.bundle_window)
                unbundled = await lone_run(postgres.url, kafka.bootstrap_servers, args.lone, 0)
                say(f"run {run}: {args.lone} lone escalations (each alone for its unit, a step due 1 s after its "
                    "raise, system clock)")
                say(f"  alerts: lone step due → webhook, window {args.bundle_window:g} s   {spread_line(lone)}")
                say(f"  alerts: lone step due → webhook, window 0 s   {spread_line(unbundled)}")
                say(f"  broker: one envelope produced → consumed     {spread_line(trips)}")
            if not args.alerts:
                continue
            broker, own = await broker_latency(
                kafka.bootstrap_servers, signals(args.alerts, args.units, f"raw{uuid.uuid4().hex[:6]}."))
            result = await burst_run(postgres.url, kafka.bootstrap_servers, args.alerts, args.units,
                                     args.bundle_window)
            alerts = result.latencies
            say(f"run {run}: {args.alerts:,} alerts to {args.units} units due at once (seeded in "
                f"{result.seeded_in:.1f} s, not timed), {result.webhooks:,} webhooks (bundle window "
                f"{args.bundle_window:g} s)")
            say(f"  alerts: step due → webhook received   {alerts.line()}")
            say(f"  alerts: all {args.alerts:,} delivered by {max(alerts.from_start):.2f} s")
            say(f"  alerts: step due → step fired (timer, escalation transaction, delivery rows)   "
                f"50 % by {result.steps_fired[0] * 1000:,.0f} ms, 99 % by {result.steps_fired[1] * 1000:,.0f} ms")
            say(f"  broker: burst start → consumed         {broker.line()}")
            say(f"  broker: each send → consumed           p50 {percentile(own, 0.5) * 1000:>8,.0f} ms   "
                f"p99 {percentile(own, 0.99) * 1000:>8,.0f} ms")
            say(f"  ratio alerts ÷ broker (burst start)    p50 "
                f"{percentile(alerts.from_start, 0.5) / percentile(broker.from_start, 0.5):.1f}×   p99 "
                f"{percentile(alerts.from_start, 0.99) / percentile(broker.from_start, 0.99):.1f}×   "
                f"(median alert {statistics.median(alerts.from_start):.2f} s)")


def main(argv: list[str] | None = None) -> None:
    if (argv if argv is not None else sys.argv[1:]) == ["--serve-receiver"]:
        asyncio.run(Receiver().serve())  # the receiver's own process (RemoteReceiver)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=10_000, help="the burst (0: none)")
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--lone", type=int, default=40, help="lone escalations (0: none)")
    parser.add_argument("--bundle-window", type=float, default=AlertsSettings().delivery_bundle_window_seconds,
                        help="ALERTS_DELIVERY_BUNDLE_WINDOW_SECONDS (default: the service's default)")
    parser.add_argument("--runs", type=int, default=1)
    run_benchmark(measure, parser.parse_args(argv))


if __name__ == "__main__":
    main()
