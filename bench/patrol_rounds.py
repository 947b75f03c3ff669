"""Patrol rounds benchmark: scans per second through rounds and compliance, next to the raw broker rate.

What is measured, on this machine, in one run:

* **raw broker**: aiokafka produces N scan-accepted envelopes (the pipeline's real bytes, keyed by team) and
  consumes them back: messages per second from the first send to the last message read.
* **through rounds**: patrol runs as its own process with a route and a plan per team whose current round
  spans the scans' device times. N scans are POSTed in batches (the HTTP intake, unchanged by rounds); patrol's
  relay publishes them and its ``patrol.rounds`` inbox consumer attaches each to its round (locking the
  team's rounds, updating their checkpoints, writing round events). Time from the first POST until every scan is
  attached (``round_scans`` holds N), then the time a compliance query and a round listing take to answer.

The ratio rounds ÷ raw broker is the figure to watch across changes (it holds on a faster or slower machine where
absolute rates do not); "HTTP accepted" shows intake kept its pace (compare bench/scan_pipeline.py).

    python bench/patrol_rounds.py [--scans 20000] [--batch 500] [--concurrency 4] [--runs 3]
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
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from baseline import ratio_spread, raw_broker_rate, run_benchmark, say, servers, spread, upload_arguments
from scan_pipeline import TEAMS, post_all, raw_messages

from pingan_shared.auth import Role
from pingan_stack.databases import ensure_database
from pingan_stack.harness import ProcessCluster
from pingan_stack.testing import bearer
from pingan_stack.topology import with_database

CHECKPOINTS = 8
ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class RoundsRun:
    accept_rate: float  # scans/s until the last upload was answered
    attached_rate: float  # scans/s until every scan was in its round
    compliance_ms: float
    rounds_list_ms: float


MEMBERS = 40
STEP = timedelta(seconds=60)


def build_uploads(count: int, batch: int, start: datetime) -> list[tuple[str, list[dict[str, object]]]]:
    """Each team's members walk its route: a member's k-th scan is at checkpoint k mod 8, a minute after the last
    (staggered by a second per member), from ``start`` on — scans spread over the team's open round at a walking
    pace, so the anti-fraud rules (repeats, speed) have nothing to flag and the rounds do the work."""
    if (count // (len(TEAMS) * MEMBERS) + 1) * STEP >= timedelta(minutes=55):
        raise SystemExit(f"--scans {count}: more than the open round holds at a walking pace (at most 21,000)")
    uploads: list[tuple[str, list[dict[str, object]]]] = []
    for t, team in enumerate(TEAMS):
        mine = []
        for i in range(t, count, len(TEAMS)):
            j = i // len(TEAMS)
            member, k = j % MEMBERS, j // MEMBERS
            mine.append({"scan_id": f"s-{i}", "team_id": team, "member_id": f"队员{member}",
                         "checkpoint_id": f"CP-{t}-{k % CHECKPOINTS}",
                         "device_time": (start + k * STEP + timedelta(seconds=member)).isoformat()})
        uploads += [(team, mine[k:k + batch]) for k in range(0, len(mine), batch)]
    return uploads


async def set_up(patrol_url: str, now: datetime) -> None:
    """A route of its own checkpoints and a plan per team: rounds of an hour from two hours ago to two ahead
    (each scan of the run falls in one of them)."""
    organiser = bearer(Role.ORGANISER, "bench")
    local_start = (now - timedelta(hours=2)).astimezone(ZONE)
    local_end = (now + timedelta(hours=2)).astimezone(ZONE)
    async with httpx.AsyncClient(base_url=patrol_url, timeout=60, headers=organiser) as http:
        document = {
            "checkpoints": [{"id": f"CP-{t}-{n}", "tag": f"tag-{t}-{n}", "name": f"检查点{t}-{n}", "area": "塘下镇"}
                            for t in range(len(TEAMS)) for n in range(CHECKPOINTS)],
            "routes": [{"id": f"R-{t}", "name": f"夜巡{t}线", "area": "塘下镇",
                        "checkpoint_ids": [f"CP-{t}-{n}" for n in range(CHECKPOINTS)]} for t in range(len(TEAMS))],
        }
        response = await http.post("/v1/import", json=document)
        if response.status_code != 200:
            raise RuntimeError(f"import failed: {response.status_code} {response.text[:300]}")
        for t, team in enumerate(TEAMS):
            response = await http.post("/v1/plans", json={
                "id": f"P-{t}", "team_id": team, "route_id": f"R-{t}", "first_date": local_start.date().isoformat(),
                "window_start": f"{local_start:%H:%M}", "window_end": f"{local_end:%H:%M}", "every_minutes": 60})
            if response.status_code != 201:
                raise RuntimeError(f"plan refused: {response.status_code} {response.text[:300]}")


async def wait_attached(patrol_db: str, expected: int, timeout: float = 600) -> int:
    conn = await asyncpg.connect(patrol_db)
    try:
        deadline = time.monotonic() + timeout
        attached = 0
        while time.monotonic() < deadline:
            attached = int(await conn.fetchval("SELECT count(*) FROM round_scans"))
            if attached >= expected:
                return attached
            await asyncio.sleep(0.05)
        return attached
    finally:
        await conn.close()


async def timed_get(url: str, params: dict[str, str], *, pages: int = 1) -> float:
    """Milliseconds to answer ``pages`` pages of a list (each next one ``after`` the previous page's
    ``next_after``), or the one answer of a non-list."""
    elapsed = 0.0
    async with httpx.AsyncClient(timeout=60, headers=bearer(Role.SUPERVISOR, "bench")) as http:
        for _ in range(pages):
            started = time.perf_counter()
            response = await http.get(url, params=params)
            elapsed += (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
            if pages > 1:
                following = response.json()["next_after"]
                if following is None:
                    break
                params = {**params, "after": str(following)}
    return elapsed


async def rounds_run(server_url: str, bootstrap: str, scans: int, batch: int, concurrency: int) -> RoundsRun:
    tag = uuid.uuid4().hex[:6]
    patrol_db = with_database(server_url, f"bench_patrol_rounds_{tag}")
    await ensure_database(server_url, patrol_db.rsplit("/", 1)[1])
    cluster = ProcessCluster(bootstrap, f"bench{tag}.")
    try:
        patrol = await asyncio.to_thread(cluster.start, "patrol", patrol_db)
        now = datetime.now(UTC)
        await set_up(patrol.url, now)
        # 20,000 scans over 10 teams of 40 members span 50 min, all in each team's open round [now - 1 h, now)
        # (rounds that closed before the plan was made are never materialised)
        uploads = build_uploads(scans, batch, now - timedelta(minutes=55))
        started = time.perf_counter()
        await post_all(patrol.url, uploads, concurrency)
        accepted_after = time.perf_counter() - started
        attached = await wait_attached(patrol_db, scans)
        attached_after = time.perf_counter() - started
        if attached != scans:
            say(f"ERROR: {attached} scans attached to rounds, expected exactly {scans}")
            sys.exit(1)
        period = {"since": (now - timedelta(days=1)).isoformat(), "until": (now + timedelta(days=1)).isoformat()}
        compliance_ms = await timed_get(f"{patrol.url}/v1/compliance", period)
        # 1,000 rounds: two pages of 500 (a page holds at most 500)
        rounds_ms = await timed_get(f"{patrol.url}/v1/rounds", {"limit": "500"}, pages=2)
        return RoundsRun(scans / accepted_after, scans / attached_after, compliance_ms, rounds_ms)
    finally:
        await asyncio.to_thread(cluster.stop_all)


async def measure(args: argparse.Namespace, workdir: Path) -> None:
    async with servers(workdir) as (postgres, kafka):
        raw: list[float] = []
        runs: list[RoundsRun] = []
        for run in range(1, args.runs + 1):
            raw.append(await raw_broker_rate(kafka.bootstrap_servers, raw_messages(args.scans)))
            say(f"run {run}: raw broker produce+consume   {raw[-1]:>9,.0f} msg/s")
            result = await rounds_run(postgres.url, kafka.bootstrap_servers, args.scans, args.batch,
                                      args.concurrency)
            runs.append(result)
            say(f"run {run}: HTTP accepted                  {result.accept_rate:>9,.0f} scans/s")
            say(f"run {run}: attached to rounds             {result.attached_rate:>9,.0f} scans/s"
                f"   ratio rounds / raw {result.attached_rate / raw[-1]:.3f}")
            say(f"run {run}: compliance {result.compliance_ms:,.0f} ms, round list {result.rounds_list_ms:,.0f} ms")
        ratios = [r.attached_rate / b for r, b in zip(runs, raw, strict=True)]
        say("")
        say(f"patrol rounds, {args.scans:,} scans per run over {len(TEAMS)} teams' rounds, batches of {args.batch}, "
            f"{args.concurrency} uploads in flight, {args.runs} run(s)")
        say(f"  raw broker produce+consume   msg/s    {spread(raw)}")
        say(f"  HTTP accepted                scans/s  {spread([r.accept_rate for r in runs])}")
        say(f"  attached to rounds           scans/s  {spread([r.attached_rate for r in runs])}")
        say(f"  ratio rounds / raw broker              {ratio_spread(ratios)}")
        say(f"  compliance query             ms       {spread([r.compliance_ms for r in runs])}")
        say(f"  round list (1,000)           ms       {spread([r.rounds_list_ms for r in runs])}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run_benchmark(measure, upload_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    main()
