"""The probes of ``city_latency.py``, each a loop running while a level's load runs, and what they need.

* ``StreamWatch``: an SSE stream read as a supervisor, noting when each checkpoint first shows done: the board's
  ``/board/live`` (signed in to the console; its ``map`` panel's markers) and, to tell where time goes, the board's
  source, patrol's live coverage stream (its ``coverage`` event's covered checkpoints).
* ``scan_probes``: a scan every half second, each at a probe checkpoint never scanned before, POSTed as a phone
  does; timed from the POST until each stream shows that checkpoint done.
* ``deadline_probes``: one alert signal at a time whose escalation step falls due a second after its raise, for one
  of a few supervisors in turn (each gets one every few seconds, beyond the bundling window: each is a lone
  notification); timed from the step's due time (its timeline) to the webhook's arrival at ``Receiver``.
* ``broker_round_trips``: the baseline, one envelope produced (acks=all) and read back, one after the other.
* ``ProcessPeaks``: each process's peak resident memory over the level (psutil, with its children), and its CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psutil
from aiohttp import web
from baseline import broker_pair, round_trip

from pingan_shared.auth import Role
from pingan_shared.clock import SystemClock
from pingan_shared.events.alert_contracts import AlertSignalV1, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.factory import EventFactory
from pingan_shared.messaging.kafka import build_producer
from pingan_stack.testing import bearer

DEADLINE_KIND = "inspection.bench-deadline"  # a kind of inspection's, raised as inspection (provenance)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the board -------------------------------------------------------------------------------------------------

async def signed_in(console_url: str, username: str, password: str) -> httpx.AsyncClient:
    """A client holding the console's session cookie, signed in through the sign-in form as a person is."""
    client = httpx.AsyncClient(base_url=console_url, headers={"Origin": console_url}, follow_redirects=False,
                               timeout=httpx.Timeout(30, read=None))
    page = await client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError(f"no sign-in form: {page.status_code} {page.text[:200]}")
    answer = await client.post("/signin", data={"username": username, "password": password,
                                                "csrf_token": token.group(1), "next": "/"})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in refused: {answer.status_code} {answer.text[:300]}")
    return client


def board_done(panel: Mapping[str, Any]) -> list[str]:
    """The checkpoints the board's ``map`` panel shows done."""
    return [str(p["id"]) for p in panel.get("points") or [] if p.get("state") == "done"]


def live_covered(view: Mapping[str, Any]) -> list[str]:
    """The checkpoints patrol's live ``coverage`` event counts covered tonight."""
    return [str(c) for route in view.get("routes") or [] for c in route.get("covered_checkpoint_ids") or []]


@dataclass
class StreamWatch:
    """One SSE stream read until cancelled, noting when each checkpoint first shows done in its ``event``."""

    client: httpx.AsyncClient
    path: str
    event: str
    done_of: Callable[[Mapping[str, Any]], list[str]]
    done_at: dict[str, float] = field(default_factory=dict)  # checkpoint id → when first shown done
    waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)

    async def follow(self) -> None:
        """SSE: ``event:`` and ``data:`` lines, a blank line ends one."""
        async with self.client.stream("GET", self.path) as response:
            if response.status_code != 200:
                raise RuntimeError(f"{self.path} answered {response.status_code}")
            kind, data = "", []
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif not line:
                    if kind == self.event and data:
                        self._seen(self.done_of(json.loads("\n".join(data))))
                    kind, data = "", []

    def _seen(self, done: list[str]) -> None:
        now = time.perf_counter()
        for checkpoint_id in done:
            if checkpoint_id not in self.done_at:
                self.done_at[checkpoint_id] = now
                waiter = self.waiting.pop(checkpoint_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(now)

    async def shown(self, checkpoint_id: str, timeout: float) -> float | None:
        if checkpoint_id in self.done_at:
            return self.done_at[checkpoint_id]
        waiter = self.waiting.setdefault(checkpoint_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return None


@dataclass(frozen=True)
class Probe:
    """One probe scan: seconds from its POST to each watched stream showing its checkpoint (None: not in time)."""

    shown: tuple[float | None, ...]


PROBE_TEAM = "探针队"


def probe_token() -> dict[str, str]:
    return bearer(Role.PATROL_DEVICE, "phone-probe", team=PROBE_TEAM)


async def probe_scan(http: httpx.AsyncClient, patrol_url: str, token: dict[str, str], watches: Sequence[StreamWatch],
                     checkpoint_id: str, timeout: float) -> Probe:
    """One scan at ``checkpoint_id`` (never scanned before), by a member of its own (no anti-fraud flag), POSTed as
    a phone uploads; then until each stream shows it, ``timeout`` at most."""
    now = datetime.now(UTC)
    sent = time.perf_counter()
    response = await http.post(f"{patrol_url}/v1/scans", headers=token, json={
        "sent_at": now.isoformat(), "scans": [{
            "scan_id": f"probe-{checkpoint_id}", "team_id": PROBE_TEAM, "member_id": f"探针{checkpoint_id}",
            "checkpoint_id": checkpoint_id, "device_time": now.isoformat(), "method": "nfc"}]})
    if response.status_code != 200 or response.json().get("accepted") != 1:
        raise RuntimeError(f"probe scan not accepted: {response.status_code} {response.text[:300]}")
    shown = await asyncio.gather(*(w.shown(checkpoint_id, timeout - (time.perf_counter() - sent)) for w in watches))
    return Probe(tuple(None if t is None else t - sent for t in shown))


async def scan_probes(patrol_url: str, watches: Sequence[StreamWatch], checkpoints: Iterator[str],
                      stop: asyncio.Event, *, every: float, timeout: float) -> list[Probe]:
    """A probe scan every ``every`` seconds until ``stop``, whatever the earlier ones' fate (open loop: a lagging
    board does not thin the samples); then the probes still waiting, up to ``timeout`` each."""
    token = probe_token()
    tasks: list[asyncio.Task[Probe]] = []
    async with httpx.AsyncClient(timeout=60) as http:
        while not stop.is_set():
            tasks.append(asyncio.create_task(probe_scan(http, patrol_url, token, watches, next(checkpoints),
                                                        timeout)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
        return list(await asyncio.gather(*tasks))


# --- deadlines -------------------------------------------------------------------------------------------------

class Receiver:
    """The supervisors' webhook: when each alert's notification first arrived (Unix seconds)."""

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        wall = time.time()
        for item in json.loads(body)["notifications"]:
            self.first_seen.setdefault(item["alert_id"], wall)
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook/{who}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def deadline_probes(bootstrap: str, prefix: str, supervisors: int, stop: asyncio.Event, *,
                          pause: float, tag: str) -> int:
    """Raise one alert at a time (a signal through the broker, as inspection raises its overdue tasks), each for the
    next supervisor in turn; the policy makes its first step due a second later. Returns how many were raised."""
    factory = EventFactory("inspection", SystemClock(), prefix)
    producer = build_producer(bootstrap, client_id="bench-city-deadlines")
    await producer.start()
    raised = 0
    try:
        while not stop.is_set():
            unit = f"SUP-{raised % supervisors}"
            key = f"inspection:task:{tag}-{raised}:overdue"
            topic, envelope = factory.make(ALERT_SIGNAL, AlertSignalV1(
                action=SignalAction.TRIGGER, dedup_key=key, kind=DEADLINE_KIND, severity="high", unit_id=unit,
                area=unit, summary=f"第{raised}号整改任务逾期未整改", occurred_at=datetime.now(UTC),
                source=SourceLink(service="bench", entity_type="task", entity_id=f"{tag}-{raised}")), key=key)
            await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
            raised += 1
            await asyncio.sleep(pause)
    finally:
        await producer.stop()
    return raised


# --- the baseline ----------------------------------------------------------------------------------------------

async def broker_round_trips(bootstrap: str, topic: str, stop: asyncio.Event, *, pause: float,
                             give_up: float = 10.0) -> tuple[list[float], int]:
    """One envelope produced (acks=all, the services' producer settings) and read back, then the next; and how many
    were not read back within ``give_up`` seconds."""
    trips: list[float] = []
    lost = 0
    async with broker_pair(bootstrap, topic, client_id="bench-city-rtt") as (producer, consumer):
        factory = EventFactory("inspection", SystemClock(), "rtt.")
        while not stop.is_set():
            _, envelope = factory.make(ALERT_SIGNAL, AlertSignalV1(
                action=SignalAction.TRIGGER, dedup_key=f"rtt-{uuid.uuid4().hex}", kind=DEADLINE_KIND,
                severity="high", unit_id="SUP-0", area="SUP-0", summary="往返", occurred_at=datetime.now(UTC),
                source=SourceLink(service="bench", entity_type="task", entity_id="rtt")), key="rtt")
            trip = await round_trip(producer, consumer, topic, envelope, give_up=give_up)
            if trip is None:
                lost += 1
            else:
                trips.append(trip)
            await asyncio.sleep(pause)
    return trips, lost


# --- memory ----------------------------------------------------------------------------------------------------

class ProcessPeaks:
    """Each named process (with its children) while ``sample`` runs: its peak resident memory, and the CPU it used
    (as a share of one core over the sampled time)."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peaks: dict[str, int] = dict.fromkeys(pids, 0)
        self.cpu: dict[str, float] = dict.fromkeys(pids, 0.0)

    @staticmethod
    def _tree(process: psutil.Process) -> list[psutil.Process]:
        try:
            return [process, *process.children(recursive=True)]
        except psutil.Error:
            return []

    @staticmethod
    def _cpu_seconds(tree: list[psutil.Process]) -> float:
        total = 0.0
        for p in tree:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        return total

    def _rss(self, tree: list[psutil.Process]) -> int:
        total = 0
        for p in tree:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    async def sample(self, stop: asyncio.Event, every: float = 0.5) -> None:
        first = {name: self._cpu_seconds(self._tree(p)) for name, p in self.processes.items()}
        started = time.perf_counter()
        while not stop.is_set():
            for name, process in self.processes.items():
                self.peaks[name] = max(self.peaks[name], self._rss(self._tree(process)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
        elapsed = time.perf_counter() - started
        for name, process in self.processes.items():
            self.cpu[name] = (self._cpu_seconds(self._tree(process)) - first[name]) / elapsed
