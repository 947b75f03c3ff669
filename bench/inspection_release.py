"""Inspection release benchmark: a city of 300 units and 5,000 findings, from the phase-change timer to the
last notice event on the broker, next to the raw broker rate measured in the same run.

What is measured, on this machine, in one run:

* **raw broker**: aiokafka produces as many real inspection envelopes as the release publishes (task-opened
  per task, notice-issued per unit, the phase change; keyed by aggregate, acks=all, the services' producer
  settings) and consumes them back: messages per second from the first send to the last message read.
* **release**: the inspection service runs in-process on a controlled clock (timer poll 50 ms). 300 units are
  imported by CSV, one 14 + 14 day cycle is opened over all of them and 5,000 findings are stored in its
  covert phase (a fifth bundled township + department, some the same hazard twice; seeding is not timed).
  Then the clock moves past the covert phase's end, and the time is taken until (a) the cycle-phase timer's
  transaction committed the release (tasks, notices, timelines, deadline timers, outbox), (b) the relay has
  published every event, (c) the last notice-issued event was read from the notices topic.

The ratio (events of the release ÷ seconds to the last notice) ÷ raw broker rate is the figure to compare
across machines: what the one transactional release plus the outbox relay cost against bare Kafka.

    python bench/inspection_release.py [--units 300] [--findings 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from aiokafka import AIOKafkaConsumer
from baseline import raw_broker_rate, run_benchmark, say, servers, wait_until

from inspection.bootstrap import bootstrap
from inspection.domain.findings import Category, FindingIn
from inspection.settings import InspectionSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import TASK_OPENED, TOPIC_INSPECTION_NOTICES
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.inspection_contracts import TaskOpenedV1
from pingan_shared.settings import PlatformSettings
from pingan_stack.databases import ensure_database
from pingan_stack.testing import bearer, running_service
from pingan_stack.topology import with_database

ZONE = ZoneInfo("Asia/Shanghai")
START = date(2026, 3, 2)
COVERT_ENDS = datetime.combine(date(2026, 3, 16), dtime(0), tzinfo=ZONE)
CATEGORIES = list(Category)


# --- baseline --------------------------------------------------------------------------------------

def raw_messages(count: int) -> list[tuple[str, Envelope]]:
    """``count`` real task-opened envelopes, keyed by task: what the raw broker rate is measured over."""
    factory = EventFactory("bench", FixedClock(COVERT_ENDS), f"raw{uuid.uuid4().hex[:6]}.")
    return [factory.make(TASK_OPENED, TaskOpenedV1(
        task_id=f"T-{i:016x}", unit_id=f"U-{i % 300:03d}", cycle_id="c-1", notice_number="〔2026〕12号",
        category="fire", severity="medium", deadline=COVERT_ENDS + timedelta(days=14), origin="finding"),
        key=f"T-{i:016x}") for i in range(count)]


# --- the city --------------------------------------------------------------------------------------

def units_csv(count: int) -> tuple[bytes, list[str], list[str]]:
    townships = [f"U-{i:03d}" for i in range(count * 2 // 3)]
    departments = [f"D-{i:03d}" for i in range(count - len(townships))]
    lines = ["id,name,kind,contact,supervising_unit_id"]
    lines += [f"{d},部门{d},department,联络员{d}," for d in departments]
    lines += [f"{t},街道{t},township,联络员{t},{departments[n % len(departments)]}" for n, t in enumerate(townships)]
    return ("\r\n".join(lines) + "\r\n").encode(), townships, departments


async def directory_of(database: str, townships: list[str], departments: list[str]) -> None:
    """The units as organisations of inspection's copy of the directory (a unit must be one), each serving the
    city, written as if the owner had sent them."""
    conn = await asyncpg.connect(database)
    try:
        await conn.executemany(
            "INSERT INTO directory_entries (code, kind, name, parent, version) VALUES ($1, $2, $3, $4, 1)",
            [("330381", "city", "瑞安市", None), *((t, "government", f"街道{t}", "330381") for t in townships),
             *((d, "department", f"部门{d}", "330381") for d in departments)])
    finally:
        await conn.close()


def finding_rows(count: int, townships: list[str], departments: list[str], at: datetime) -> list[tuple[object, ...]]:
    rng = random.Random(211)
    rows: list[tuple[object, ...]] = []
    for i in range(count):
        bundled, kind = rng.random() < 0.2, rng.random()
        township = rng.choice(townships) if bundled or kind < 0.6 else None
        department = rng.choice(departments) if bundled or township is None else None
        place = f"地点{rng.randrange(count * 9 // 10)}"  # about one in ten repeats a place: some merges
        finding = FindingIn(id=f"F-{i:05d}", cycle_id="c-1", township_unit_id=township,
                            department_unit_id=department, category=rng.choice(CATEGORIES), place=place,
                            description=f"{place}发现隐患", evidence=[f"photo:{i}"])
        rows.append((finding.id, "c-1", township, department, finding.category.value, finding.severity.value,
                     finding.effective_hazard_key(), place, None, None, finding.description,
                     json.dumps(list(finding.evidence)), "bench-inspector", "inspector",
                     at + timedelta(seconds=i), finding.fingerprint()))
    return rows


@dataclass(frozen=True)
class ReleaseRun:
    tasks: int
    notices: int
    events: int
    committed: float  # seconds from the clock passing covert_ends_at to the release committed
    relayed: float  # … to the outbox fully published
    last_notice: float  # … to the last notice-issued read from the topic


async def release_run(server_url: str, bootstrap_servers: str, units: int, findings: int) -> ReleaseRun:
    tag = uuid.uuid4().hex[:6]
    database = with_database(server_url, f"bench_inspection_{tag}")
    await ensure_database(server_url, database.rsplit("/", 1)[1])
    clock = FixedClock(datetime.combine(START - timedelta(days=1), dtime(10), tzinfo=ZONE))
    platform_settings = PlatformSettings(kafka_bootstrap_servers=bootstrap_servers,
                                         kafka_topic_prefix=f"bench{tag}.", kafka_topic_partitions=3)
    service = bootstrap(platform=platform_settings, clock=clock,
                        settings=InspectionSettings(database_url=database, timer_poll_seconds=0.05))
    async with running_service(service) as client:
        inspector = bearer(Role.INSPECTOR, "bench", issued_at=clock.now())
        raw_csv, townships, departments = units_csv(units)
        await directory_of(database, townships, departments)
        imported = (await client.post("/v1/units/import", content=raw_csv,
                                      headers={**inspector, "Content-Type": "text/csv"})).json()
        assert imported["created"] == units, imported
        opened = await client.post("/v1/cycles", headers=inspector, json={
            "id": "c-1", "name": "2026年第1期", "start_date": START.isoformat(),
            "unit_ids": townships + departments})
        assert opened.status_code == 201, opened.text
        conn = await asyncpg.connect(database)
        try:
            await conn.executemany(
                "INSERT INTO findings (id, cycle_id, township_unit_id, department_unit_id, category, severity, "
                "hazard_key, place, latitude, longitude, description, evidence, recorded_by, recorded_role, "
                "recorded_at, fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, "
                "$14, $15, $16)",
                finding_rows(findings, townships, departments, datetime.combine(START, dtime(9), tzinfo=ZONE)))
            await wait_until(conn, "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL")
            consumer = AIOKafkaConsumer(platform_settings.topic(TOPIC_INSPECTION_NOTICES),
                                        bootstrap_servers=bootstrap_servers, group_id=None,
                                        auto_offset_reset="earliest", enable_auto_commit=False)
            await consumer.start()
            try:
                clock.set(COVERT_ENDS + timedelta(seconds=1))
                started = time.perf_counter()
                arrivals: list[float] = []
                reader = asyncio.create_task(read_notices(consumer, started, arrivals))
                await wait_until(conn, "SELECT phase = 'rectification' FROM cycles WHERE id = 'c-1'")
                committed = time.perf_counter() - started
                expected = await conn.fetchval("SELECT count(*) FROM notices")
                await wait_until(conn, "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL")
                relayed = time.perf_counter() - started
                last_notice = await reader_until(reader, arrivals, expected)
            finally:
                await consumer.stop()
            tasks = await conn.fetchval("SELECT count(*) FROM tasks")
            events = await conn.fetchval("SELECT count(*) FROM outbox WHERE event_type <> 'inspection.cycle-opened'")
            return ReleaseRun(tasks, expected, events, committed, relayed, last_notice)
        finally:
            await conn.close()


async def read_notices(consumer: AIOKafkaConsumer, started: float, arrivals: list[float]) -> None:
    """Append the arrival time (seconds after ``started``) of each notice-issued event, until cancelled."""
    while True:
        batch = await consumer.getmany(timeout_ms=100, max_records=5000)
        now = time.perf_counter() - started
        arrivals.extend(now for records in batch.values() for _ in records)


async def reader_until(reader: asyncio.Task[None], arrivals: list[float], expected: int,
                       timeout: float = 300) -> float:
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(arrivals) >= expected:
                return arrivals[expected - 1]
            await asyncio.sleep(0.02)
        raise RuntimeError(f"only {len(arrivals)} of {expected} notices arrived")
    finally:
        reader.cancel()


# --- report ----------------------------------------------------------------------------------------

def spread(values: list[float], unit: str = "") -> str:
    return (f"min {min(values):>8,.2f}{unit}   median {statistics.median(values):>8,.2f}{unit}   "
            f"max {max(values):>8,.2f}{unit}")


async def measure(args: argparse.Namespace, workdir: Path) -> None:
    async with servers(workdir) as (postgres, kafka):
        raw: list[float] = []
        runs: list[ReleaseRun] = []
        for run in range(1, args.runs + 1):
            result = await release_run(postgres.url, kafka.bootstrap_servers, args.units, args.findings)
            runs.append(result)
            raw.append(await raw_broker_rate(kafka.bootstrap_servers, raw_messages(result.events)))
            rate = result.events / result.last_notice
            say(f"run {run}: {result.tasks:,} tasks in {result.notices} notices, {result.events:,} events: "
                f"committed {result.committed:.2f} s, relayed {result.relayed:.2f} s, last notice read "
                f"{result.last_notice:.2f} s ({rate:,.0f} events/s); raw broker {raw[-1]:,.0f} msg/s, "
                f"ratio {rate / raw[-1]:.3f}")
        say("")
        say(f"inspection release, {args.units} units, {args.findings:,} findings, {args.runs} run(s)")
        say(f"  release committed (timer due → transaction)   {spread([r.committed for r in runs], ' s')}")
        say(f"  every event relayed                          {spread([r.relayed for r in runs], ' s')}")
        say(f"  last notice-issued read from the topic       {spread([r.last_notice for r in runs], ' s')}")
        say(f"  raw broker produce+consume, same count  msg/s {spread(raw)}")
        ratios = [r.events / r.last_notice / b for r, b in zip(runs, raw, strict=True)]
        say(f"  ratio (release events/s ÷ raw broker)        {spread(ratios)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--findings", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    run_benchmark(measure, parser.parse_args(argv))


if __name__ == "__main__":
    main()
