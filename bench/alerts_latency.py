"""Alerts delivery latency: 10,000 alerts whose escalation step falls due at the same moment, from that moment to
each alert's webhook arriving at a local receiver (p50/p99), next to the broker's own produce-to-consume latency
for as many messages sent at once, measured in the same run.

What is measured, on this machine, in one run:

* **broker**: aiokafka produces N real alert-signal envelopes at once (acks=all, the services' producer settings,
  keyed by dedup key) and one consumer reads them back; latency per message from the burst's start (and from its
  own send) to its arrival at the consumer.
* **alerts**: the alerts service runs in-process on a controlled clock (timer poll 50 ms, delivery poll 50 ms).
  Seeding, not timed: 300 unit contacts each with a signed webhook to one local aiohttp receiver, one policy for
  the kind whose first step (通报, to ``unit:{unit}`` by webhook) is due 10 minutes after the raise, and N trigger
  signals published to the signals topic; the service raises N alerts. Then the clock moves 10 minutes on: N
  escalation timers are due at once, and from then on the clock runs in real time (the bundling window is
  counted on it). Timed, per alert, from that moment to its notification's arrival at the receiver (a bundled
  webhook lists several alerts: each arrives with it): durable timer → escalation transaction (state, lifecycle
  event, delivery rows) → delivery worker (bundle, claim, HMAC-signed POST) → receiver.

The figure to compare across machines is alerts p50/p99 ÷ broker p50/p99 for the same burst.

    python bench/alerts_latency.py [--alerts 10000] [--units 300] [--bundle-window 2] [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiohttp import web
from aiokafka import AIOKafkaConsumer
from baseline import run_benchmark, say, servers, wait_until

from alerts.bootstrap import bootstrap
from alerts.settings import AlertsSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.alert_contracts import AlertSignalV1, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.settings import PlatformSettings
from pingan_stack.databases import ensure_database
from pingan_stack.testing import bearer, running_service
from pingan_stack.topology import with_database

T0 = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)
KIND = "inspection.bench-overdue"  # a kind of inspection's, sent as inspection (provenance)
STEP_DELAY = timedelta(minutes=10)
SECRET = "bench-webhook-secret-0001"


def signals(count: int, units: int, prefix: str) -> list[tuple[str, Envelope]]:
    # sent as inspection, on its signal topic: a source raises only keys and kinds of its own namespace
    factory = EventFactory("inspection", FixedClock(T0), prefix)
    return [factory.make(ALERT_SIGNAL, AlertSignalV1(
        action=SignalAction.TRIGGER, dedup_key=f"inspection:task:bench-{i}:overdue", kind=KIND, severity="high",
        unit_id=f"U-{i % units:03d}", area=f"U-{i % units:03d}", summary=f"第{i}号整改任务逾期未整改",
        source=SourceLink(service="bench", entity_type="task", entity_id=str(i)), occurred_at=T0),
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


# --- the broker's own latency ----------------------------------------------------------------------

async def broker_latency(bootstrap_servers: str, messages: list[tuple[str, Envelope]]) -> tuple[Latencies, list[float]]:
    topic = messages[0][0]
    await ensure_topics(bootstrap_servers, [topic], partitions=3, replication_factor=1)
    producer = build_producer(bootstrap_servers, client_id="bench-latency")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=None,
                                auto_offset_reset="latest", enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        await consumer.seek_to_end()
        for partition in consumer.assignment():  # resolve the end offsets before the burst
            await consumer.position(partition)
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
    finally:
        await consumer.stop()
        await producer.stop()


# --- alerts ----------------------------------------------------------------------------------------

class Receiver:
    """Notes when each alert's notification first arrives (a bundle lists several)."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.requests = 0
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = time.perf_counter()
        self.requests += 1
        for item in json.loads(body)["notifications"]:
            self.first_seen.setdefault(item["alert_id"], now)
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook/{unit}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def tick(clock: FixedClock, due: datetime, started: float) -> None:
    while True:
        clock.set(due + timedelta(seconds=time.perf_counter() - started))
        await asyncio.sleep(0.02)


@dataclass(frozen=True)
class AlertsRun:
    latencies: Latencies
    webhooks: int
    seeded_in: float
    steps_fired: tuple[float, float]  # seconds until half / 99 % of the steps had fired (delivery rows written)


async def alerts_run(server_url: str, bootstrap_servers: str, count: int, units: int,
                     bundle_window: float) -> AlertsRun:
    tag = uuid.uuid4().hex[:6]
    database = with_database(server_url, f"bench_alerts_{tag}")
    await ensure_database(server_url, database.rsplit("/", 1)[1])
    clock = FixedClock(T0)
    platform = PlatformSettings(kafka_bootstrap_servers=bootstrap_servers, kafka_topic_prefix=f"bench{tag}.",
                                kafka_topic_partitions=3)
    settings = AlertsSettings(
        database_url=database, timer_poll_seconds=0.05, delivery_poll_seconds=0.05,
        delivery_bundle_window_seconds=bundle_window,
        delivery_rate_limits={"webhook": 0, "email": 0, "inbox": 0, "stream": 0})
    receiver = Receiver()
    await receiver.start()
    service = bootstrap(platform=platform, settings=settings, clock=clock)
    try:
        async with running_service(service) as client:
            admin = bearer(Role.ADMIN, "bench", issued_at=clock.now())
            seeding = time.perf_counter()
            for u in range(units):
                response = await client.put(f"/v1/contacts/unit:U-{u:03d}", headers=admin, json={
                    "display_name": f"街道U-{u:03d}", "webhook_url": f"{receiver.base}/hook/U-{u:03d}",
                    "webhook_secrets": [SECRET]})
                assert response.status_code == 201, response.text
            response = await client.post("/v1/policies", headers=admin, json={
                "name": "bench", "kind": KIND, "steps": [{
                    "delay_seconds": int(STEP_DELAY.total_seconds()), "targets": ["unit:{unit}"],
                    "channels": ["webhook"], "label": "通报"}]})
            assert response.status_code == 201, response.text
            producer = build_producer(bootstrap_servers, client_id="bench-signals")
            await producer.start()
            try:
                futures = [await producer.send(topic, value=env.to_bytes(), key=env.key.encode())
                           for topic, env in signals(count, units, platform.kafka_topic_prefix)]
                await asyncio.gather(*futures)
            finally:
                await producer.stop()
            conn = await asyncpg.connect(database)
            try:
                await wait_until(conn, f"SELECT count(*) >= {count} FROM alerts", timeout=900, poll=0.05)
                await wait_until(conn, "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL", timeout=900, poll=0.05)
                seeded_in = time.perf_counter() - seeding
                assert receiver.requests == 0
                clock.set(T0 + STEP_DELAY)  # every alert's first step is due now
                started = time.perf_counter()
                # From here the service's clock runs in real time (the bundling window is counted on it).
                ticker = asyncio.create_task(tick(clock, T0 + STEP_DELAY, started))
                deadline = time.monotonic() + 900
                fired: list[tuple[float, int]] = []  # (seconds, delivery rows): the steps fired so far
                while len(receiver.first_seen) < count:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"only {len(receiver.first_seen)} of {count} alerts notified")
                    if not fired or fired[-1][1] < count:
                        fired.append((time.perf_counter() - started,
                                      await conn.fetchval("SELECT count(*) FROM deliveries")))
                    await asyncio.sleep(0.05)
                ticker.cancel()
                latencies = [t - started for t in receiver.first_seen.values()]
                webhooks = await conn.fetchval("SELECT count(*) FROM delivery_messages")
                steps_fired = (next(t for t, n in fired if n >= count // 2),
                               next(t for t, n in fired if n >= count * 99 // 100))
            finally:
                await conn.close()
            return AlertsRun(Latencies(latencies, count), webhooks, seeded_in, steps_fired)
    finally:
        await receiver.stop()


async def measure(args: argparse.Namespace, workdir: Path) -> None:
    async with servers(workdir) as (postgres, kafka):
        for run in range(1, args.runs + 1):
            broker, own = await broker_latency(
                kafka.bootstrap_servers, signals(args.alerts, args.units, f"raw{uuid.uuid4().hex[:6]}."))
            result = await alerts_run(postgres.url, kafka.bootstrap_servers, args.alerts, args.units,
                                      args.bundle_window)
            alerts = result.latencies
            say(f"run {run}: {args.alerts:,} alerts to {args.units} units (seeded in {result.seeded_in:.1f} s, "
                f"not timed), {result.webhooks:,} webhooks (bundle window {args.bundle_window:g} s)")
            say(f"  alerts: step due → webhook received   {alerts.line()}")
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--bundle-window", type=float, default=AlertsSettings().delivery_bundle_window_seconds,
                        help="ALERTS_DELIVERY_BUNDLE_WINDOW_SECONDS (default: the service's default)")
    parser.add_argument("--runs", type=int, default=1)
    run_benchmark(measure, parser.parse_args(argv))


if __name__ == "__main__":
    main()
