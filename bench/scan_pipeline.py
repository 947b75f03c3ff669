"""Scan-pipeline benchmark: accepted-and-consumed scans per second, next to the raw broker rate.

What is measured, on this machine, in one run:

* **raw broker**: aiokafka produces N scan-accepted envelopes (the real bytes the pipeline carries, keyed
  by team, acks=all, the services' producer settings) and consumes them back: messages per second from
  the first send to the last message read. This is the ceiling any Kafka pipeline here can reach.
* **pipeline**: patrol and roster run as separate processes. N scans are POSTed to patrol in batches;
  patrol validates them, stores them and their outbox rows in one transaction, its relay publishes
  them; roster consumes them through its inbox into attendance. Time from the first POST until
  roster's attendance holds all N. patrol runs as deployed for load: an intake replica
  (``PATROL_RUN_CONSUMERS=false``: HTTP, relay, timers) — the pipeline measured here.
* **pipeline beside patrol's consumers**: the same, with patrol's consumer replica also running (rounds,
  anti-fraud flags and the live-coverage stream app, all reading every scan). On 2 cores it takes CPU from
  the pipeline; with a core of its own it would not. Printed next to the first so both stay visible.

The ratio pipeline ÷ raw broker is the figure to watch across changes: it is what the durability rules
(PostgreSQL writes on both sides, outbox, inbox) cost relative to bare Kafka on the same machine, and it
stays meaningful on a faster or slower machine where absolute rates do not.

    python bench/scan_pipeline.py [--scans 20000] [--batch 500] [--concurrency 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from baseline import ratio_spread, raw_broker_rate, run_benchmark, say, servers, spread, upload_arguments

from pingan_shared.auth import Role
from pingan_shared.events.envelope import Envelope
from pingan_stack.databases import ensure_database
from pingan_stack.harness import ProcessCluster
from pingan_stack.testing import bearer, sample_factory, sample_scan_event
from pingan_stack.topology import with_database

TEAMS = [f"队{i:02d}" for i in range(10)]
CHECKPOINTS = 8


# --- baseline --------------------------------------------------------------------------------------

def raw_messages(count: int) -> list[tuple[str, Envelope]]:
    """``count`` real scan-accepted envelopes, keyed by team: what the raw broker rate is measured over."""
    factory = sample_factory(f"raw{uuid.uuid4().hex[:6]}.")
    return [sample_scan_event(factory, TEAMS[i % len(TEAMS)], i) for i in range(count)]


# --- pipeline --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PipelineRun:
    accept_rate: float  # scans/s until the last upload was answered
    end_to_end_rate: float  # scans/s until roster counted them all


# Device times 2 s apart: each member (i % 40) scans its checkpoint every 80 s, as a patrol might, so the flags
# consumer running beside intake judges a plausible night (a member scanning one checkpoint every 40 ms, or every
# 60 s, would be flagged repeated-scan 19,960 times out of 20,000: 20,000 more events and alert signals).
SCAN_SPACING = timedelta(seconds=2)


def build_uploads(count: int, batch: int) -> list[tuple[str, list[dict[str, object]]]]:
    first = datetime.now(UTC) - timedelta(minutes=30) - count * SCAN_SPACING
    scans = [
        {"scan_id": f"s-{i}", "team_id": TEAMS[i % len(TEAMS)], "member_id": f"队员{i % 40}",
         "checkpoint_id": f"CP-{i % CHECKPOINTS}", "device_time": (first + i * SCAN_SPACING).isoformat(),
         "method": "nfc"}
        for i in range(count)
    ]
    uploads = []
    for team in TEAMS:
        mine = [s for s in scans if s["team_id"] == team]
        uploads += [(team, mine[k:k + batch]) for k in range(0, len(mine), batch)]
    return uploads


async def post_all(patrol_url: str, uploads: list[tuple[str, list[dict[str, object]]]], concurrency: int) -> None:
    tokens = {team: bearer(Role.PATROL_DEVICE, f"device-{team}", team=team) for team in TEAMS}
    queue: asyncio.Queue[tuple[str, list[dict[str, object]]]] = asyncio.Queue()
    for upload in uploads:
        queue.put_nowait(upload)

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            team, batch = queue.get_nowait()
            # the app sends the upload's send time: patrol measures the phone's clock offset from it
            upload = {"sent_at": datetime.now(UTC).isoformat(), "scans": batch}
            response = await http.post(f"{patrol_url}/v1/scans", json=upload, headers=tokens[team])
            body = response.json()
            if response.status_code != 200 or body["accepted"] != len(batch):
                raise RuntimeError(f"upload not fully accepted: {response.status_code} {str(body)[:300]}")

    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))


async def wait_for_count(roster_db: str, expected: int, timeout: float = 600) -> int:
    conn = await asyncpg.connect(roster_db)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counted = int(await conn.fetchval("SELECT coalesce(sum(scan_count), 0) FROM attendance"))
            if counted >= expected:
                return counted
            await asyncio.sleep(0.05)
        return counted
    finally:
        await conn.close()


async def pipeline_run(server_url: str, bootstrap: str, scans: int, batch: int, concurrency: int,
                       *, with_patrol_consumers: bool) -> PipelineRun:
    tag = uuid.uuid4().hex[:6]
    patrol_db, roster_db = (with_database(server_url, f"bench_{name}_{tag}") for name in ("patrol", "roster"))
    for url in (patrol_db, roster_db):
        await ensure_database(server_url, url.rsplit("/", 1)[1])
    cluster = ProcessCluster(bootstrap, f"bench{tag}.")
    try:
        patrol = await asyncio.to_thread(cluster.start, "patrol", patrol_db, env={"PATROL_RUN_CONSUMERS": "false"})
        if with_patrol_consumers:
            await asyncio.to_thread(cluster.start, "patrol", patrol_db, replica="-consumers")
        await asyncio.to_thread(cluster.start, "roster", roster_db)
        async with httpx.AsyncClient(timeout=30) as http:
            for n in range(CHECKPOINTS):
                await http.post(f"{patrol.url}/v1/checkpoints", headers=bearer(Role.ORGANISER, "bench"),
                                json={"id": f"CP-{n}", "tag": f"tag-{n}", "name": f"检查点{n}"})
        uploads = build_uploads(scans, batch)
        started = time.perf_counter()
        await post_all(patrol.url, uploads, concurrency)
        accepted_after = time.perf_counter() - started
        counted = await wait_for_count(roster_db, scans)
        consumed_after = time.perf_counter() - started
        if counted != scans:
            say(f"ERROR: roster counted {counted} scans, expected exactly {scans}")
            sys.exit(1)
        return PipelineRun(scans / accepted_after, scans / consumed_after)
    finally:
        await asyncio.to_thread(cluster.stop_all)


# --- report ----------------------------------------------------------------------------------------

async def measure(args: argparse.Namespace, workdir: Path) -> None:
    async with servers(workdir) as (postgres, kafka):
        raw: list[float] = []
        alone: list[PipelineRun] = []
        beside: list[PipelineRun] = []
        for run in range(1, args.runs + 1):
            raw.append(await raw_broker_rate(kafka.bootstrap_servers, raw_messages(args.scans)))
            say(f"run {run}: raw broker produce+consume   {raw[-1]:>9,.0f} msg/s")
            for results, with_consumers, label in ((alone, False, "pipeline"),
                                                   (beside, True, "beside patrol's consumers")):
                result = await pipeline_run(postgres.url, kafka.bootstrap_servers, args.scans, args.batch,
                                            args.concurrency, with_patrol_consumers=with_consumers)
                results.append(result)
                say(f"run {run}: {label}: HTTP accepted {result.accept_rate:>7,.0f} scans/s, e2e "
                    f"{result.end_to_end_rate:>7,.0f} scans/s, ratio e2e / raw {result.end_to_end_rate / raw[-1]:.3f}")
        say("")
        say(f"scan pipeline, {args.scans:,} scans per run, batches of {args.batch}, {args.concurrency} uploads "
            f"in flight, {args.runs} run(s)")
        say(f"  raw broker produce+consume   msg/s    {spread(raw)}")
        for results, label in ((alone, "patrol intake replica → roster"),
                               (beside, "the same, patrol's consumer replica on the same cores")):
            ratios = [p.end_to_end_rate / r for p, r in zip(results, raw, strict=True)]
            say(f"  {label}")
            say(f"    HTTP accepted                scans/s  {spread([p.accept_rate for p in results])}")
            say(f"    accepted and consumed (e2e)  scans/s  {spread([p.end_to_end_rate for p in results])}")
            say(f"    ratio e2e / raw broker                 {ratio_spread(ratios)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run_benchmark(measure, upload_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    main()
