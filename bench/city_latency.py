"""Load as the city's users feel it: at 1×, 10× and 100× Wenzhou's night-patrol load, the latencies a supervisor
sees, each beside the raw broker's round trip measured at the same moments, and each process's memory.

Wenzhou: 17,644 patrol members in 1,729 teams, each member scanning about every five minutes on night patrol:
17,644 / 300 s ≈ 59 scans/s at 1×, ≈ 590 at 10×, ≈ 5,900 at 100×.

The stack, as processes on the embedded broker and PostgreSQL (fsync on): patrol (intake, relay, timers, its
``patrol.scans`` consumer and the live-coverage stream app: one process, as `pingan up` runs it), roster,
inspection, alerts and the console. Seeded, not timed: 20 routes of 10 checkpoints in 塘下镇 (the load's), a probe
route of as many checkpoints as the probes need, a supervisor account scoped to 塘下镇 signed in through the
console's sign-in form and reading the board's stream ``/board/live``, and a few supervisors' webhook contacts with
an escalation policy whose first step falls due a second after an alert's raise.

Per level, for ``--duration`` seconds, while ``city_load.py`` (a process of its own) offers the level's scans in
uploads of ``--batch`` as team phones send them:

* **scan → board**: a probe scan every half second (open loop: a lagging board does not thin the samples), each
  at a checkpoint never scanned before, timed from its POST to patrol until the board's ``map`` panel (the
  supervisor's SSE stream) shows that checkpoint done: patrol's intake, outbox relay, the broker, the live-coverage
  app, patrol's live stream, the console's relay. The same probes are timed to patrol's live stream too (read as
  the same supervisor), which tells the console's share from patrol's; a probe not shown in 60 s is counted apart;
* **deadline → notification**: one alert at a time, for the next of 8 supervisors in turn (each gets one every
  ~4 s, beyond the 2 s bundling window: a lone notification), its step due a second after the raise; timed from the
  step's due time (its timeline) to the webhook's arrival;
* **broker RTT** (the baseline of both): one envelope produced with acks=all and read back, one after the other;
* **RSS**: each process's peak resident memory over the level (with its children), and the CPU it used.

Between levels the load stops and one more probe is waited for until the board shows it (the wait is printed), so
a level starts without the last one's backlog; the processes keep running (memory is what they hold by then).
On 2 cores the services, the database, the broker, the load generator and the probes share the CPU: at 100× the
offered rate is not met, and what is measured is printed as it is.

    python bench/city_latency.py [--levels 1,10,100] [--duration 25] [--batch 10] [--quick]  (--quick: 8 s a level)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx
from baseline import run_benchmark, say, servers
from city_probes import (
    DEADLINE_KIND,
    Probe,
    ProcessPeaks,
    Receiver,
    StreamWatch,
    board_done,
    broker_round_trips,
    deadline_probes,
    live_covered,
    percentile,
    probe_scan,
    probe_token,
    scan_probes,
    signed_in,
)
from console.domain.audit import Actor
from console.domain.passwords import password_problems

from pingan_shared.auth import Role
from pingan_stack.csv_upload import chunk_body, read_rows
from pingan_stack.databases import ensure_database
from pingan_stack.directory_cli import places_first
from pingan_stack.embedded import free_port
from pingan_stack.harness import ProcessCluster
from pingan_stack.processes import ServiceProcess
from pingan_stack.sample_directory import sample_csv
from pingan_stack.testing import bearer
from pingan_stack.topology import CONSOLE, SERVICES, service_env, with_database
from pingan_stack.users_cli import account_book

T = TypeVar("T")

MEMBERS, TEAMS, EVERY = 17_644, 1_729, 300  # Wenzhou's night patrol: a scan per member every five minutes
TANGXIA = "330381102000"  # 塘下镇: the supervisor's scope and the routes' area
ROUTES, PER_ROUTE = 20, 10
SUPERVISORS = 8
SECRET = "bench-city-webhook-secret-01"
PROBE_EVERY = 0.5  # a probe scan every half second, whatever the earlier ones' fate
PROBE_TIMEOUT = 60.0  # a probe not shown by then is counted as not shown
DEADLINE_PAUSE = 0.5  # between two alerts raised (each supervisor gets one every 4 s)
RTT_PAUSE = 0.25


@dataclass(frozen=True)
class Level:
    scale: int
    offered: float
    accepted: float
    load: dict[str, float]
    board: list[float]
    board_missing: int
    live: list[float]  # to patrol's live stream, the board's source
    live_missing: int
    deadline: list[float]
    deadline_missing: int
    rtt: list[float]
    rss: dict[str, int]
    cpu: dict[str, float]  # share of a core over the load
    drained_in: float


@dataclass
class Stage:
    cluster: ProcessCluster
    patrol_url: str
    patrol_db: str
    alerts_db: str
    routes: list[list[str]]
    board: StreamWatch
    live: StreamWatch
    receiver: Receiver
    bootstrap: str
    pids: dict[str, int]
    rebuilds_seen: int = 0  # patrol's "live coverage app failed; building a new one" lines reported so far


async def import_directory(roster: str, patrol: str, organiser: dict[str, str]) -> None:
    """The sample city's directory (瑞安市, as `pingan directory import --sample`) into roster, which owns it, and
    until patrol's copy knows 塘下镇 (it arrives as events)."""
    header, rows = read_rows(sample_csv())
    header = [h.strip().lower() for h in header]
    rows = sorted(rows, key=lambda row: places_first(header, row))
    async with httpx.AsyncClient(timeout=60, headers={**organiser, "Content-Type": "text/csv"}) as http:
        answer = await http.post(f"{roster}/v1/directory/imports", content=chunk_body(header, rows))
        assert answer.status_code == 200 and answer.json()["rejected"] == 0, answer.text[:500]
    async with httpx.AsyncClient(timeout=30, headers=organiser) as http:
        deadline = time.monotonic() + 120
        while (await http.get(f"{patrol}/v1/directory/entries/{TANGXIA}")).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("patrol's copy of the directory never knew 塘下镇")
            await asyncio.sleep(0.2)


def _password() -> str:
    while True:
        candidate = secrets.token_urlsafe(12)
        if not password_problems(candidate, "bench.supervisor"):
            return candidate


async def start_stack(cluster: ProcessCluster, server_url: str, workdir: Path, probes: int) -> Stage:
    """The five processes, then the seeding (see the module's docstring); ``cluster`` holds what was started, for
    the caller to stop whatever happens here."""
    bootstrap, tag = cluster.kafka_bootstrap_servers, cluster.topic_prefix.removeprefix("city").rstrip(".")
    databases = {spec.name: with_database(server_url, f"bench_city_{spec.name}_{tag}") for spec in (*SERVICES, CONSOLE)}
    for url in databases.values():
        await ensure_database(server_url, url.rsplit("/", 1)[1])
    started = time.perf_counter()
    await asyncio.gather(*(asyncio.to_thread(cluster.start, spec.name, databases[spec.name]) for spec in SERVICES))
    urls = {name: process.url for name, process in cluster.processes.items()}
    port, metrics_port = free_port(), free_port()
    console = ServiceProcess("console", port, {
        "PINGAN_ENV": "test", "PINGAN_LOG_LEVEL": "WARNING", "CONSOLE_COOKIE_SECURE": "false",
        "CONSOLE_PHOTO_STORE": f"file:{workdir / 'photos'}",
        **{f"{name.upper()}_URL": url for name, url in urls.items()},
        **service_env(CONSOLE, database_url=databases["console"], port=port, metrics_port=metrics_port)},
        metrics_port=metrics_port)
    console.start()
    cluster.processes["console"] = console
    await asyncio.to_thread(console.wait_ready, 60)
    say(f"  five processes ready in {time.perf_counter() - started:.1f} s")

    password = _password()
    async with account_book(databases["console"]) as book:
        await book.create(Actor("bench", "local"), username="bench.supervisor", display_name="塘下镇督查（基准）",
                          role=Role.SUPERVISOR.value, scope={"scope": TANGXIA}, password=password)
    patrol = urls["patrol"]
    organiser = bearer(Role.ORGANISER, "bench")
    await import_directory(urls["roster"], patrol, organiser)
    routes = [[f"C{r:02d}-{k}" for k in range(PER_ROUTE)] for r in range(ROUTES)]
    probe_ids = [f"P-{k:04d}" for k in range(probes)]
    async with httpx.AsyncClient(timeout=30, headers=organiser) as http:
        async def checkpoint(cid: str, n: int) -> None:
            answer = await http.post(f"{patrol}/v1/checkpoints", json={
                "id": cid, "tag": f"tag-{cid}", "name": f"检查点{cid}", "latitude": 27.80 + (n % 50) * 0.002,
                "longitude": 120.60 + (n // 50) * 0.002, "expected_method": "nfc", "area": "塘下镇"})
            assert answer.status_code == 201, answer.text
        everything = [c for route in routes for c in route] + probe_ids
        for k in range(0, len(everything), 20):
            await asyncio.gather(*(checkpoint(c, k + i) for i, c in enumerate(everything[k:k + 20])))
        for r, route in enumerate([*routes, probe_ids]):
            answer = await http.post(f"{patrol}/v1/routes", json={
                "id": f"R-{r:02d}", "name": f"塘下夜巡{r}线", "area": TANGXIA, "ordered": False,
                "checkpoint_ids": route})
            assert answer.status_code == 201, answer.text
    receiver = Receiver()
    await receiver.start()
    admin = bearer(Role.ADMIN, "bench")
    async with httpx.AsyncClient(timeout=30, headers=admin) as http:
        for s in range(SUPERVISORS):
            answer = await http.put(f"{urls['alerts']}/v1/contacts/unit:SUP-{s}", json={
                "display_name": f"督查员{s}", "webhook_url": f"{receiver.base}/hook/SUP-{s}",
                "webhook_secrets": [SECRET]})
            assert answer.status_code == 201, answer.text
        answer = await http.post(f"{urls['alerts']}/v1/policies", json={
            "name": "逾期督办（基准）", "kind": DEADLINE_KIND, "repeat": 0, "steps": [{
                "delay_seconds": 1, "targets": ["unit:{unit}"], "channels": ["webhook"], "label": "通报"}]})
        assert answer.status_code == 201, answer.text
    board = StreamWatch(await signed_in(console.url, "bench.supervisor", password), "/board/live", "map",
                        board_done)
    live = StreamWatch(httpx.AsyncClient(base_url=patrol, timeout=httpx.Timeout(30, read=None),
                                         headers=bearer(Role.SUPERVISOR, "bench.supervisor", scope=TANGXIA)),
                       "/v1/coverage/live/stream", "coverage", live_covered)
    pids = {name: p.process.pid for name, p in cluster.processes.items() if p.process is not None}
    return Stage(cluster, patrol, databases["patrol"], databases["alerts"], routes, board, live, receiver, bootstrap,
                 pids)


async def run_load(stage: Stage, scale: int, duration: float, batch: int, tag: str) -> dict[str, float]:
    rate = MEMBERS * scale / EVERY
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("city_load.py")), "--patrol-url", stage.patrol_url,
        "--rate", f"{rate:.3f}", "--duration", str(duration), "--batch", str(batch), "--teams", str(TEAMS * scale),
        "--routes", ";".join(",".join(r) for r in stage.routes), "--tag", tag,
        stdout=asyncio.subprocess.PIPE, env=os.environ.copy())
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed ({process.returncode})")
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def finished(task: asyncio.Task[T], what: str, timeout: float) -> T:
    """A probe's result once the level is over; one that hangs is an error naming it, never a silent wait."""
    try:
        return await asyncio.wait_for(task, timeout)
    except TimeoutError:
        raise RuntimeError(f"{what} did not finish within {timeout:.0f} s of the level's end") from None


def _split(probes: list[Probe], k: int) -> tuple[list[float], int]:
    shown = [p.shown[k] for p in probes]
    return [t for t in shown if t is not None], sum(t is None for t in shown)


async def run_level(stage: Stage, scale: int, duration: float, batch: int, probe_ids: Iterator[str],
                    peaks: ProcessPeaks, catch_up: float) -> Level:
    tag = f"L{scale}x{uuid.uuid4().hex[:4]}"
    stop = asyncio.Event()
    seen_before = set(stage.receiver.first_seen)
    prefix = stage.cluster.topic_prefix
    load = asyncio.create_task(run_load(stage, scale, duration, batch, tag))
    await asyncio.sleep(min(3.0, duration / 5))  # the load under way before the first probe
    probes = asyncio.create_task(scan_probes(stage.patrol_url, (stage.board, stage.live), probe_ids, stop,
                                             every=PROBE_EVERY, timeout=PROBE_TIMEOUT))
    deadlines = asyncio.create_task(deadline_probes(stage.bootstrap, prefix, SUPERVISORS, stop,
                                                    pause=DEADLINE_PAUSE, tag=tag))
    trips = asyncio.create_task(broker_round_trips(stage.bootstrap, f"{prefix}bench.rtt", stop, pause=RTT_PAUSE))
    sampler = asyncio.create_task(peaks.sample(stop))
    result = await load
    stop.set()
    scanned = await finished(probes, "the scan probes", PROBE_TIMEOUT + 60)
    raised = await finished(deadlines, "the deadline probes", 60)
    rtt, rtt_lost = await finished(trips, "the broker round trips", 60)
    await finished(sampler, "the memory sampler", 30)
    if rtt_lost:
        say(f"  broker: {rtt_lost} round trips not read back within 10 s (left out of the figures)")
    # the notifications raised during the level, waited for (a late one is a figure, not an error)
    waited = time.monotonic() + 60
    while len(set(stage.receiver.first_seen) - seen_before) < raised:
        if time.monotonic() > waited:
            break
        await asyncio.sleep(0.2)
    conn = await asyncpg.connect(stage.alerts_db)
    try:
        dues = {str(r["alert_id"]): datetime.fromisoformat(r["due"]) for r in await conn.fetch(
            "SELECT alert_id, detail->>'due' AS due FROM alert_timeline WHERE kind = 'step'")}
    finally:
        await conn.close()
    new = set(stage.receiver.first_seen) - seen_before
    deadline = [stage.receiver.first_seen[a] - dues[a].timestamp() for a in new if a in dues]
    # the next level starts without this one's backlog: a last probe shown on the board says all before it is
    drain = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as http:
        last = await probe_scan(http, stage.patrol_url, probe_token(), (stage.board, stage.live), next(probe_ids),
                                catch_up)
    if None in last.shown:
        say(f"  WARNING: the board had not caught up {catch_up:.0f} s after the level: the next starts behind")
    rebuilt = [line for line in stage.cluster.processes["patrol"].lines if "building a new one" in line]
    for line in rebuilt[stage.rebuilds_seen:]:  # the live app's rebuilds during the level and its catch-up
        say(f"  patrol: {line[:240]}")
    stage.rebuilds_seen = len(rebuilt)
    return Level(scale, result["offered"], result["accepted_in_period"], result, *_split(scanned, 0),
                 *_split(scanned, 1), deadline, max(0, raised - len(deadline)), rtt, dict(peaks.peaks),
                 dict(peaks.cpu), time.perf_counter() - drain)


def _ms(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{percentile(values, 0.5) * 1000:,.0f} / {percentile(values, 0.99) * 1000:,.0f}"


def _ratio(values: list[float], base: list[float]) -> str:
    if not values or not base:
        return "—"
    return (f"{percentile(values, 0.5) / percentile(base, 0.5):,.1f}× / "
            f"{percentile(values, 0.99) / percentile(base, 0.99):,.1f}×")


def _with_count(values: list[float], missing: int, what: str) -> str:
    return f"{_ms(values)} ({len(values)}" + (f"; {missing} {what})" if missing else ")")


def report(levels: list[Level], names: list[str]) -> None:
    say("")
    say("| level | scans/s offered | scans/s accepted | scan → board p50 / p99 ms (n) | scan → patrol's live stream "
        "p50 / p99 ms | deadline → notification p50 / p99 ms (n) | broker RTT p50 / p99 ms (n) | board ÷ RTT "
        f"p50 / p99 | notification ÷ RTT p50 / p99 | peak RSS MiB: {' / '.join(names)} |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    for lv in levels:
        say(f"| {lv.scale}× | {lv.offered:,.0f} | {lv.accepted:,.0f} | "
            f"{_with_count(lv.board, lv.board_missing, f'not shown in {PROBE_TIMEOUT:.0f} s')} | "
            f"{_with_count(lv.live, lv.live_missing, f'not shown in {PROBE_TIMEOUT:.0f} s')} | "
            f"{_with_count(lv.deadline, lv.deadline_missing, 'not notified in 60 s')} | "
            f"{_ms(lv.rtt)} ({len(lv.rtt)}) | {_ratio(lv.board, lv.rtt)} | {_ratio(lv.deadline, lv.rtt)} | "
            + " / ".join(f"{lv.rss.get(n, 0) / 2**20:,.0f}" for n in names) + " |")
    say("")
    for lv in levels:
        load = lv.load
        say(f"{lv.scale}×: {load['uploads']:,.0f} uploads of {load['batch']:.0f} in {load['period']:.1f} s "
            f"({load['skipped']:,.0f} of them not sent: {load['in_flight']:.0f} unanswered already; "
            f"{load['refused']:,.0f} refused, {load['failed']:,.0f} failed), {load['accepted']:,.0f} scans accepted "
            f"in all; the board caught up {lv.drained_in:.1f} s after the probes; CPU over the load (share of a core): "
            + ", ".join(f"{n} {lv.cpu.get(n, 0):.2f}" for n in lv.cpu))


async def measure(args: argparse.Namespace, workdir: Path) -> None:
    levels_asked = [int(x) for x in args.levels.split(",")]
    probes = int(args.duration / PROBE_EVERY + 10) * len(levels_asked)  # and one to catch up per level
    async with servers(workdir) as (postgres, kafka):
        say(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        cluster = ProcessCluster(kafka.bootstrap_servers, f"city{uuid.uuid4().hex[:6]}.")
        followers: list[asyncio.Task[None]] = []
        stage: Stage | None = None
        try:
            stage = await start_stack(cluster, postgres.url, workdir, probes)
            followers += [asyncio.create_task(stage.board.follow()), asyncio.create_task(stage.live.follow())]
            await asyncio.sleep(3)  # the board's first reading (checkpoints, routes) before any probe
            for follower in followers:
                if follower.done():
                    follower.result()
            order = [*(spec.name for spec in SERVICES), "console"]
            names = [*sorted(stage.pids, key=order.index), "broker"]
            pids = dict(stage.pids)
            if kafka.process is not None:
                pids["broker"] = kafka.process.pid
            probe_ids = iter([f"P-{k:04d}" for k in range(probes)])
            results = []
            for scale in levels_asked:
                say(f"level {scale}×: {MEMBERS * scale / EVERY:,.0f} scans/s offered for {args.duration:g} s …")
                level = await run_level(stage, scale, args.duration, args.batch, probe_ids, ProcessPeaks(pids),
                                       args.catch_up)
                results.append(level)
                say(f"  accepted {level.accepted:,.0f} scans/s; scan → board {_ms(level.board)} ms (patrol's live "
                    f"stream {_ms(level.live)} ms); deadline → notification {_ms(level.deadline)} ms; broker RTT "
                    f"{_ms(level.rtt)} ms; load average {os.getloadavg()[0]:.2f}")
            report(results, names)
        finally:
            for follower in followers:
                follower.cancel()
            if stage is not None:
                await stage.board.client.aclose()
                await stage.live.client.aclose()
                await stage.receiver.stop()
            await asyncio.to_thread(cluster.stop_all)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,10,100", help="multiples of Wenzhou's load, comma-separated")
    parser.add_argument("--duration", type=float, default=25, help="seconds of load per level")
    parser.add_argument("--batch", type=int, default=10, help="scans per upload (a team phone's five minutes)")
    parser.add_argument("--catch-up", type=float, default=600,
                        help="after a level, seconds to wait at most for the board to show a last probe")
    parser.add_argument("--quick", action="store_true", help="8 s per level")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 8
    run_benchmark(measure, args)


if __name__ == "__main__":
    main()
