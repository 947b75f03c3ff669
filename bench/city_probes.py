"""The probes of ``city_latency.py``, each a loop running while a level's load runs, and what they need.

* ``BoardWatch``: a supervisor signed in to the console reading ``/board/live`` (the board's one SSE stream); it
  notes when each checkpoint's marker on the ``map`` panel first shows ``done``.
* ``scan_probes``: one scan at a time, at a probe checkpoint never scanned before, POSTed as a phone does; timed
  from the POST until the board shows that checkpoint done.
* ``deadline_probes``: one alert signal at a time whose escalation step falls due a second after its raise, for one
  of a few supervisors in turn (each gets one every few seconds, beyond the bundling window: each is a lone
  notification); timed from the step's due time (its timeline) to the webhook's arrival at ``Receiver``.
* ``broker_round_trips``: the baseline, one envelope produced (acks=all) and read back, one after the other.
* ``RssPeaks``: each process's resident memory, the peak over the level (psutil, with its children).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psutil
from aiohttp import web
from aiokafka import AIOKafkaConsumer

from pingan_shared.auth import Role
from pingan_shared.clock import SystemClock
from pingan_shared.events.alert_contracts import AlertSignalV1, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.factory import EventFactory
from pingan_shared.messaging.kafka import build_producer, ensure_topics
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


@dataclass
class BoardWatch:
    client: httpx.AsyncClient
    done_at: dict[str, float] = field(default_factory=dict)  # checkpoint id → when the board first showed it done
    maps: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self) -> None:
        """Read ``/board/live`` until cancelled (SSE: ``event:`` and ``data:`` lines, a blank line ends one)."""
        async with self.client.stream("GET", "/board/live") as response:
            if response.status_code != 200:
                raise RuntimeError(f"/board/live answered {response.status_code}")
            kind, data = "", []
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif not line:
                    if kind == "map" and data:
                        self._map(json.loads("\n".join(data)))
                    kind, data = "", []

    def _map(self, panel: Mapping[str, Any]) -> None:
        now = time.perf_counter()
        self.maps += 1
        for point in panel.get("points") or []:
            if point.get("state") == "done":
                self.done_at.setdefault(str(point["id"]), now)
        self.changed.set()

    async def shown(self, checkpoint_id: str, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while checkpoint_id not in self.done_at:
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return None
        return self.done_at[checkpoint_id]


async def scan_probes(patrol_url: str, board: BoardWatch, checkpoints: list[str], stop: asyncio.Event,
                      *, pause: float, timeout: float) -> tuple[list[float], int]:
    """Seconds from each probe scan's POST to the board showing its checkpoint done; and how many never showed
    within ``timeout``."""
    token = bearer(Role.PATROL_DEVICE, "phone-probe", team="探针队")
    latencies: list[float] = []
    missing = 0
    async with httpx.AsyncClient(timeout=60) as http:
        for n, checkpoint_id in enumerate(checkpoints):
            if stop.is_set():
                break
            now = datetime.now(UTC)
            sent = time.perf_counter()
            response = await http.post(f"{patrol_url}/v1/scans", headers=token, json={
                "sent_at": now.isoformat(), "scans": [{
                    "scan_id": f"probe-{checkpoint_id}", "team_id": "探针队", "member_id": f"探针{n % 20}",
                    "checkpoint_id": checkpoint_id, "device_time": now.isoformat(), "method": "nfc"}]})
            if response.status_code != 200 or response.json().get("accepted") != 1:
                raise RuntimeError(f"probe scan not accepted: {response.status_code} {response.text[:300]}")
            shown = await board.shown(checkpoint_id, timeout)
            if shown is None:
                missing += 1
            else:
                latencies.append(shown - sent)
            await asyncio.sleep(pause)
    return latencies, missing


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

async def broker_round_trips(bootstrap: str, topic: str, stop: asyncio.Event, *, pause: float) -> list[float]:
    """One envelope produced (acks=all, the services' producer settings) and read back, then the next."""
    await ensure_topics(bootstrap, [topic], partitions=3, replication_factor=1)
    producer = build_producer(bootstrap, client_id="bench-city-rtt")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest",
                                enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    trips: list[float] = []
    try:
        await consumer.seek_to_end()
        for partition in consumer.assignment():
            await consumer.position(partition)
        factory = EventFactory("inspection", SystemClock(), "rtt.")
        while not stop.is_set():
            _, envelope = factory.make(ALERT_SIGNAL, AlertSignalV1(
                action=SignalAction.TRIGGER, dedup_key=f"rtt-{uuid.uuid4().hex}", kind=DEADLINE_KIND,
                severity="high", unit_id="SUP-0", area="SUP-0", summary="往返", occurred_at=datetime.now(UTC),
                source=SourceLink(service="bench", entity_type="task", entity_id="rtt")), key="rtt")
            started = time.perf_counter()
            await (await producer.send(topic, value=envelope.to_bytes(), key=envelope.key.encode()))
            while not (await consumer.getmany(timeout_ms=1000, max_records=1)):
                pass
            trips.append(time.perf_counter() - started)
            await asyncio.sleep(pause)
    finally:
        await consumer.stop()
        await producer.stop()
    return trips


# --- memory ----------------------------------------------------------------------------------------------------

class RssPeaks:
    """The peak resident memory of each named process (with its children) while ``sample`` runs."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peaks: dict[str, int] = dict.fromkeys(pids, 0)

    def _rss(self, process: psutil.Process) -> int:
        try:
            return process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
        except psutil.Error:
            return 0

    async def sample(self, stop: asyncio.Event, every: float = 0.5) -> None:
        while not stop.is_set():
            for name, process in self.processes.items():
                self.peaks[name] = max(self.peaks[name], self._rss(process))
            await asyncio.sleep(every)
