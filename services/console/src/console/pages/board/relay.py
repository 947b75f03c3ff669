"""``/board/live``: the board's one stream, from the console's own origin (the content security policy lets a page
connect nowhere else, and an EventSource sends no Authorization header).

Per open board, as the signed-in person:

* patrol's live coverage stream (``GET /v1/coverage/live/stream``, the faust app's figures) and alerts' stream
  (``GET /v1/stream``) are followed (``upstream.follow``: reopened with backoff after a restart);
* the records are read again every ``FAST_SECONDS`` (tonight's rounds, the standing alerts, roster's shifts and
  attendance) and every ``SLOW_SECONDS`` (checkpoints, routes, places and hazards; the 211 cycle and its
  tasks), and at once (after ``SETTLE_SECONDS``) when a stream says something changed: a scan, a round late, an
  escalation;
* each panel (``map``, ``counters``, ``townships``, ``cycle``, ``hazards``, ``ticker``) is worked out
  (``figures``) and sent when it changed, and every second a ``health`` event tells each source's state: good
  since when, or why not. The page marks a panel stale from the health of the sources it is made of.

The relay ends when the session ends or the account
changed; without a live session it answers 204, which stops EventSource.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from console.pages.board import figures, reading
from console.pages.board.upstream import Health, follow
from console.pages.patrol.rules import display_state, place_points, tonight
from console.services import ServiceRefused, ServiceUnavailable
from console.web.pages import Person, console

FAST_SECONDS = 5.0
SLOW_SECONDS = 20.0
SETTLE_SECONDS = 0.3  # a stream event wakes the reads this long after it (a burst of scans makes one read)
HEALTH_SECONDS = 1.0
SESSION_CHECK_SECONDS = 30.0
HAZARDS_SHOWN = timedelta(hours=2 * figures.HAZARD_HOURS)  # the hazards panel's reach back
SOURCES = ("live", "alerts_live", "patrol", "places", "alerts", "roster", "inspection")


@dataclass
class BoardState:
    """What one open board last read from each source."""

    night: date
    map: reading.PatrolMap | None = None
    rounds: list[dict[str, Any]] | None = None
    alerts: list[dict[str, Any]] | None = None
    roster: reading.Roster | None = None
    inspection: reading.Inspection | None = None
    coverage: dict[str, Any] | None = None
    round_states: dict[str, str] | None = None
    ticker: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=figures.TICKER_LINES))
    health: dict[str, Health] = field(default_factory=lambda: {name: Health() for name in SOURCES})
    sent: dict[str, str] = field(default_factory=dict)


class Relay:
    def __init__(self, request: Any, person: Person) -> None:
        ctx = console(request)
        self.caller = person.services
        self.clock = ctx.runtime.clock
        self.zone = ctx.runtime.platform.timezone
        self.board = BoardState(night=tonight(self.clock.now(), self.zone))
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.wake = asyncio.Event()

    # --- reading -------------------------------------------------------------------------------------------

    async def _guarded(self, source: str, read: Awaitable[Any], keep: Callable[[Any], None]) -> None:
        health = self.board.health[source]
        try:
            keep(await read)
            health.good()
        except ServiceRefused as exc:
            health.bad(f"{exc.detail} ({exc.status})", refused=exc.status in (401, 403))
        except ServiceUnavailable as exc:
            health.bad(f"{exc.service} 无法读取 (not answering): {exc.reason}")

    def _keeper(self, name: str) -> Callable[[Any], None]:
        return lambda value: setattr(self.board, name, value)

    async def read_records(self) -> None:
        """The records, fast ones every turn and slow ones every ``SLOW_SECONDS``; a turn ends with a ``records``
        event so the panels are worked out again."""
        loop = asyncio.get_running_loop()
        next_slow = 0.0
        caller = self.caller
        while True:
            night = self.board.night = tonight(self.clock.now(), self.zone)
            jobs = [self._guarded("patrol", reading.rounds(caller, night), self._keep_rounds),
                    self._guarded("alerts", reading.alerts(caller), self._keeper("alerts")),
                    self._guarded("roster", reading.roster(caller, night), self._keeper("roster"))]
            if loop.time() >= next_slow:
                next_slow = loop.time() + SLOW_SECONDS
                jobs += [self._guarded("places", reading.patrol_map(caller, self.clock.now() - HAZARDS_SHOWN),
                                       self._keeper("map")),
                         self._guarded("inspection", reading.inspection(caller), self._keeper("inspection"))]
            await asyncio.gather(*jobs)
            await self.events.put(("records", {}))
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), FAST_SECONDS)
            await asyncio.sleep(SETTLE_SECONDS)

    def _keep_rounds(self, rows: list[dict[str, Any]]) -> None:
        board, now = self.board, self.clock.now()
        states = {str(r["id"]): display_state(r, now) for r in rows}
        names = {str(r["id"]): str(r.get("name") or r["id"]) for r in (board.map.routes if board.map else [])}
        for line in figures.round_changes(board.round_states, states, names, {str(r["id"]): r for r in rows}):
            self._tick(line)
        board.rounds, board.round_states = rows, states

    async def on_coverage(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "coverage":
            await self.events.put(("coverage", data))
        elif kind == "state":  # patrol's word on its live view: current, or why not (the broker unheard …)
            self.board.health["live"].hold("" if data.get("current") else str(data.get("reason") or "not current"))

    async def on_alert(self, kind: str, data: dict[str, Any]) -> None:
        if kind in figures.ALERT_EVENTS:
            await self.events.put(("alert", {"event": kind, **data}))

    # --- the panels ----------------------------------------------------------------------------------------

    def _tick(self, text: str) -> None:
        self.board.ticker.appendleft({"at": f"{self.clock.now().astimezone(self.zone):%H:%M:%S}", "text": text})

    def handle(self, kind: str, data: dict[str, Any]) -> None:
        board = self.board
        if kind == "coverage":
            checkpoint_names = {str(c["id"]): str(c.get("name") or c["id"]) for c in
                                (board.map.checkpoints if board.map else [])}
            for line in figures.coverage_changes(board.coverage, data, checkpoint_names):
                self._tick(line)
            board.coverage = data
            self.wake.set()
        elif kind == "alert":
            self._tick(figures.alert_line(data))
            self.wake.set()

    def panels(self) -> dict[str, Any]:
        board, now = self.board, self.clock.now()
        patrol_map = board.map or reading.PatrolMap()
        rounds = board.rounds or []
        routes_live = (board.coverage or {}).get("routes") or []
        covered = [cid for r in routes_live for cid in r.get("covered_checkpoint_ids") or []]
        townships_live = (board.coverage or {}).get("townships") or []
        shifts = board.roster.shifts if board.roster else None
        tasks = {str(t["id"]): t for t in (board.inspection.tasks if board.inspection else [])}
        cycle = figures.current_cycle(board.inspection.cycles) if board.inspection else None
        return {
            "map": {"night": board.night.isoformat(), "places": place_points(patrol_map.places),
                    "points": figures.checkpoint_states(patrol_map.checkpoints, patrol_map.routes, rounds, covered,
                                                        now)},
            "counters": {
                "on_duty": figures.on_duty(shifts, now) if shifts is not None else None,
                "present": len(set(board.roster.present)) if board.roster else None,
                "patrolling": sum(int(t.get("active_patrollers") or 0) for t in townships_live)
                if board.coverage is not None else None,
                "covered": sum(int(t.get("checkpoints_covered") or 0) for t in townships_live),
                "checkpoints": sum(int(t.get("checkpoints_total") or 0) for t in townships_live),
                "rounds": figures.round_counts(rounds, now),
                "alerts": figures.alert_counts(board.alerts or [])},
            "townships": figures.township_rows(rounds, shifts, board.roster.present if board.roster else None,
                                               townships_live if board.coverage is not None else None,
                                               figures.Townships(patrol_map.places), now),
            "cycle": figures.cycle_panel(cycle, tasks.values(), now, self.zone),
            "hazards": figures.hazard_clocks(patrol_map.hazards, tasks, now, self.zone),
            "ticker": list(board.ticker),
        }

    def changed(self) -> list[dict[str, str]]:
        """The panels whose content changed since they were last sent, as SSE events."""
        out = []
        for name, value in self.panels().items():
            text = json.dumps(value, ensure_ascii=False, default=str)
            if self.board.sent.get(name) != text:
                self.board.sent[name] = text
                out.append({"event": name, "data": text})
        return out

    def health(self) -> dict[str, str]:
        return {"event": "health", "data": json.dumps(
            {"now": time.time(), "sources": {k: h.as_json() for k, h in self.board.health.items()}},
            ensure_ascii=False)}


async def relay(request: Any, person: Person, still: Callable[[], Awaitable[bool]]) -> AsyncIterator[dict[str, str]]:
    """The board's events until the session ends (``still`` says whether it is live and the same account)."""
    board = Relay(request, person)
    caller = person.services
    tasks = [asyncio.create_task(follow(caller, "patrol", "/v1/coverage/live/stream", board.board.health["live"],
                                        board.on_coverage)),
             asyncio.create_task(follow(caller, "alerts", "/v1/stream", board.board.health["alerts_live"],
                                        board.on_alert)),
             asyncio.create_task(board.read_records())]
    loop = asyncio.get_running_loop()
    try:
        next_health = next_session_check = loop.time()
        while True:
            timeout = max(0.0, next_health - loop.time())
            try:
                kind, data = await asyncio.wait_for(board.events.get(), timeout)
                board.handle(kind, data)
                for event in board.changed():
                    yield event
            except TimeoutError:
                pass
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if loop.time() >= next_health:
                yield board.health()
                next_health = loop.time() + HEALTH_SECONDS
            if loop.time() >= next_session_check:
                if not await still():
                    yield {"event": "signedout", "data": ""}
                    return
                next_session_check = loop.time() + SESSION_CHECK_SECONDS
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
