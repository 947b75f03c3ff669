"""The faust-streaming app behind tonight's live coverage.

Four agents, each at concurrency 1 (faust-streaming #606: a higher concurrency can commit an offset past a
message still in flight), each folding one topic into one changelog-backed table:

* ``patrol.scans`` (key = team) → ``scans``: tumbling one-night windows, key = team, value = checkpoint id →
  members who scanned it that night (``coverage.add_visit``);
* ``patrol.rounds`` (key = round) → ``rounds``: tumbling one-night windows (by the round's expected start),
  key = round id, value = its route and two flags, reported not started / started (``coverage.fold_round``);
* ``patrol.routes`` (key = route) → ``routes``: key = route id, value = its latest version.
* ``patrol.alert-signals`` (key = dedup key), patrol's own resolve signals of not-started alerts → ``resolved``: key =
  dedup key, value = the round id. A cancelled round's not-started alert is resolved with no round event.

Each table is keyed by its input topic's own key, so a table partition is written only from the same
partition of its input, and its changelog partition is that partition (faust's default): the state is
co-partitioned with the stream without a repartition topic. Regrouping by route (``group_by``) is not needed
because route figures are a small join done when the view is read (``coverage.compute``); a route-keyed table
fed from a team-keyed stream would write one route's value from several partitions into several changelog
partitions, and a recovery would restore whichever came last.

Recovery: offsets are committed after faust flushes the changelog writes (at-least-once); a restarted app
restores the tables by reading their changelog topics and resumes its inputs from the committed offsets. The
folds are idempotent, so events redelivered after a crash (processed but not yet committed) change nothing.

The app emits only dead letters (``poison``), with an event id derived from the poison record's position and
content, so reprocessing emits the same event again and the dead-letter readers see one.

A broker loss (the embedded broker restarted) takes changelogs and inputs; the relay publishes again only its window
(``pingan_shared.messaging.broker_loss``). Once patrol's relay recorded one, the view joins the record's state
(``record.RecordSeed``: folds only grow, so the join is exact) and a running app is built anew (``epoch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import faust
from aiokafka.structs import ConsumerRecord
from faust.tables.wrappers import WindowWrapper

from patrol.live.coverage import add_visit as fold_visit
from patrol.live.coverage import (
    fold_round,
    join_rounds,
    join_routes,
    join_visits,
    newer_route,
    resolved_not_started,
)
from patrol.live.epoch import BrokerLost, app_id
from patrol.live.night import NIGHT_SECONDS, window_timestamp
from patrol.live.poison import poison_dead_letter
from patrol.live.progress import input_progress
from patrol.live.reading import NightState, night_state
from patrol.live.record import Connect, RecordSeed
from patrol.live.settings import LiveCoverageSettings
from patrol.live.stall import StallWatch, StreamStalled
from patrol.live.tables import JoiningTable
from pingan_shared.clock import Clock
from pingan_shared.events.alert_contracts import AlertSignalV1
from pingan_shared.events.catalog import (
    ALERT_SIGNAL,
    CATALOG,
    ROUTE_PUBLISHED,
    SCAN_ACCEPTED,
    TOPIC_PATROL_ROUNDS,
    TOPIC_PATROL_ROUTES,
    TOPIC_PATROL_SCANS,
    signal_topic,
)
from pingan_shared.events.contracts import ScanAcceptedV2
from pingan_shared.events.envelope import Envelope, EnvelopeError
from pingan_shared.events.patrol_contracts import RoundFactsV1, RoutePublishedV1
from pingan_shared.logs import get_logger
from pingan_shared.messaging.kafka import ensure_topics
from pingan_shared.settings import PlatformSettings

log = get_logger(__name__)

ROUND_EVENTS = frozenset({
    "patrol.round-not-started", "patrol.round-started", "patrol.round-completed", "patrol.round-incomplete",
})


RESTART_BACKOFF_MIN_SECONDS = 1.0
CONSUMER_THREAD_STOP_SECONDS = 5.0
RESTART_BACKOFF_MAX_SECONDS = 30.0
LOSS_POLL_SECONDS = 2.0  # how often the running app looks for a broker loss patrol's relay recorded


class LiveCoverage:
    """Builds, runs and reads the faust app. ``run()`` is patrol's background job (``live-coverage``)."""

    def __init__(self, platform: PlatformSettings, settings: LiveCoverageSettings, clock: Clock, *,
                 service: str = "patrol", connection: Connect | None = None) -> None:
        self.platform = platform
        self.settings = settings
        # the consumer group, and the prefix of the changelog topics: one per topic prefix (deployment) and
        # broker loss (epoch.py)
        self.base_app_id = platform.topic(f"{service}-live")
        self.clock = clock
        self.zone: ZoneInfo = platform.timezone
        self.service = service
        self.processed = 0  # input events handled since this start (tests tell recovery from recomputation)
        # ... and since this object was made, across the rebuilds after a stall (a rebuilt app counts from 0)
        self.processed_in_all_starts = 0
        self.dead_lettered = 0
        self._finished: dict[tuple[str, int], int] = {}  # input partition → last offset an agent finished
        self._app: faust.App | None = None
        self._datadir: str | None = None
        self._window_ts = 0.0  # the event time of the record being folded (agents run one record at a time)
        self._changed = asyncio.Condition()
        self.version = 0  # bumped on every change: the SSE stream sends a view when it moved
        # the record's state after a broker loss, kept across the app's rebuilds
        self.record = RecordSeed(connection, self.zone, keep_nights=settings.keep_nights)

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def topics(self) -> dict[str, str]:
        topic = self.platform.topic
        return {"scans": topic(TOPIC_PATROL_SCANS), "rounds": topic(TOPIC_PATROL_ROUNDS),
                "routes": topic(TOPIC_PATROL_ROUTES), "signals": topic(signal_topic(self.service)),
                "deadletter": topic(f"deadletter.{self.service}")}

    @property
    def app_id(self) -> str:
        return app_id(self.base_app_id, self.record.loss)

    @property
    def inputs(self) -> list[str]:
        return [self.topics[name] for name in ("scans", "rounds", "routes", "signals")]

    async def start(self) -> None:
        # faust does not create the topics it reads; patrol's runtime creates those it produces, but the live
        # app may start first (or in a replica whose relay has not run yet), so it makes sure of its own.
        await ensure_topics(self.platform.kafka_bootstrap_servers, self.topics.values(),
                            partitions=self.platform.kafka_topic_partitions,
                            replication_factor=self.platform.kafka_replication_factor)
        self.processed = 0
        self._finished = {}
        await self.record.look(self.clock.now())
        # the tables are in memory; faust still keeps a data directory (default: beside the working directory,
        # where every app id left one behind). Each app gets a temporary one, removed when it stops.
        self._datadir = tempfile.mkdtemp(prefix=f"{self.app_id}-")
        self._app = self._build(self._datadir)
        await self._app.start()
        await self._notify()  # a view rebuilt (or joined with the record's state) may have moved
        log.info("live coverage started", app_id=self.app_id)

    async def stop(self, *, abandon_agents: bool = False) -> None:
        app, self._app = self._app, None
        if app is not None:
            # commit what was handled (changelog flushed first, as in faust's periodic commit), so a restart
            # reads again only what came after; on a crash the periodic commit bounds the repeat
            with contextlib.suppress(Exception):
                await app.consumer.commit()
            if abandon_agents:
                # faust's stop tells an agent waiting on its stream to end, then waits for every agent: one stuck
                # on anything else (a stall) would hold the stop, and the rebuild, for ever. What it was doing is
                # not committed, so the new app does it again.
                for agent in app.agents.values():
                    for actor in list(agent._actors):
                        if actor.actor_task is not None:
                            actor.actor_task.cancel()
            try:
                await app.stop()
            except Exception as exc:  # a crashed app may fail its own stop: it is dropped either way
                log.warning("live coverage app did not stop cleanly", error=repr(exc))
            log.info("live coverage stopped", app_id=self.app_id)
        if self._datadir is not None:
            shutil.rmtree(self._datadir, ignore_errors=True)
            self._datadir = None

    async def run(self) -> None:
        """Run until cancelled. The live view is a cache of the topics, so a faust app that cannot start (no
        broker yet), crashes, stalls or outlived a broker loss must not take patrol's intake down with it: it is
        thrown away and built anew after a backoff, and recovers its tables from the changelogs (joined with the
        record's state after a loss). Meanwhile the live routes answer 503."""
        backoff = RESTART_BACKOFF_MIN_SECONDS
        while True:
            stalled = False
            try:
                await self.start()
                backoff = RESTART_BACKOFF_MIN_SECONDS
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stalled = isinstance(exc, StreamStalled)
                log.warning("live coverage app failed; building a new one", error=repr(exc), retry_in=backoff)
            finally:
                await asyncio.shield(self.stop(abandon_agents=stalled))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RESTART_BACKOFF_MAX_SECONDS)

    async def _watch(self) -> None:
        """Return (by raising) when the running app crashed, stopped by itself or stopped working an input
        partition (``stall``: not read, or an event taken and never finished)."""
        unread, unfinished = StallWatch(self.settings.stall_seconds), StallWatch(self.settings.stall_seconds)
        inputs, loss_due = set(self.inputs), time.monotonic() + LOSS_POLL_SECONDS
        while True:
            if time.monotonic() >= loss_due:
                loss_due = time.monotonic() + LOSS_POLL_SECONDS
                if await self.record.look(self.clock.now()):
                    raise BrokerLost("the broker lost the stream's topics: building the app anew on the new ones")
            app = self._app
            assert app is not None
            if app.crashed:
                raise RuntimeError(f"live coverage app crashed: {app.crash_reason!r}")
            if app.should_stop:
                raise RuntimeError("live coverage app stopped by itself")
            progress = input_progress(app, inputs, self._finished)
            if progress is None:
                unread.reset()
                unfinished.reset()
            else:
                now = time.monotonic()
                stamps, owing = progress
                if stalled := unread.stalled(stamps, now):
                    raise StreamStalled(f"live coverage app stopped reading {stalled}")
                if stalled := unfinished.stalled(owing, now):
                    raise StreamStalled(f"live coverage app left events undone on {stalled}")
            await asyncio.sleep(0.5)

    @property
    def running(self) -> bool:
        return self._app is not None and not self._app.should_stop

    def held_partitions(self) -> list[int]:
        """Partitions of the scans topic whose state this process holds (actively or as a standby)."""
        if self._app is None:
            return []
        try:
            assignment = self._app.assignor.assigned_actives() | self._app.assignor.assigned_standbys()
        except Exception:  # not yet assigned
            return []
        return sorted({tp.partition for tp in assignment if tp.topic.endswith("scans-changelog")})

    # --- the app ----------------------------------------------------------------------------------------

    def _build(self, datadir: str) -> faust.App:
        platform, settings = self.platform, self.settings
        keep = timedelta(days=settings.keep_nights)
        app = faust.App(
            self.app_id,
            broker=[f"kafka://{server.strip()}" for server in platform.kafka_bootstrap_servers.split(",")],
            store="memory://",
            datadir=datadir,
            web_enabled=False,  # patrol serves HTTP; faust's own web server is off
            autodiscover=False,
            topic_partitions=platform.kafka_topic_partitions,
            topic_replication_factor=platform.kafka_replication_factor,
            table_standby_replicas=settings.standby_replicas,
            table_cleanup_interval=settings.cleanup_interval_seconds,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=platform.kafka_session_timeout_ms / 1000,
            broker_heartbeat_interval=platform.kafka_heartbeat_interval_ms / 1000,
            producer_acks=-1,
        )
        # faust runs its Kafka consumer in a thread of its own, and a stop waits for that thread to report it shut
        # down: up to mode's default of 60 s. With the broker gone the thread's consumer.stop() ends with an error
        # before reporting, so every stop during a broker outage waited the whole minute (and held the service's
        # shutdown, or a test session's event loop, that long). The thread is gone by then; only the wait is cut.
        app.consumer._thread.shutdown_timeout = CONSUMER_THREAD_STOP_SECONDS  # type: ignore[attr-defined]
        def raw_topic(name: str) -> faust.TopicT:
            return app.topic(self.topics[name], key_serializer="raw", value_serializer="raw")

        scans_in, rounds_in, routes_in = raw_topic("scans"), raw_topic("rounds"), raw_topic("routes")
        signals_in = raw_topic("signals")
        deadletters = raw_topic("deadletter")
        # recovery_buffer_size=1: faust applies each changelog record as it reads it. With its default buffer
        # (1000) recovery was measured to end with the last records of a partition still in the buffer, applied
        # only at the next stop: a restarted app served a state some changes old (the restart test catches it).
        def table(name: str, default: Any, join: Callable[[Any, Any], Any]) -> Any:
            made = JoiningTable(app, name=name, default=default, beacon=app.tables.beacon, recovery_buffer_size=1,
                                partitions=platform.kafka_topic_partitions)
            made.join_values = join
            return app.tables.add(made)

        # One-night tumbling windows over local wall time shifted by the noon turn (night.window_timestamp):
        # faust's window edges are epoch multiples, so each window is exactly one night.
        scans = self._nightly(table("scans", dict, join_visits), keep)
        rounds = self._nightly(table("rounds", dict, join_rounds), keep)
        routes = table("routes", None, join_routes)
        # key = the signal's dedup key (its topic's key), value = the round whose not-started alert closed
        resolved = table("resolved", None, lambda held, _incoming: held)
        self._tables = {"scans": scans.table, "rounds": rounds.table, "routes": routes, "resolved": resolved}

        def on_scan(envelope: Envelope) -> bool:
            if envelope.type != SCAN_ACCEPTED:
                return False
            scan = cast(ScanAcceptedV2, CATALOG.decode(envelope))
            self._window_ts = window_timestamp(scan.device_time, self.zone)
            updated = fold_visit(scans[scan.team_id].value(), scan.checkpoint_id, scan.member_id)
            if updated is None:
                return False
            scans[scan.team_id] = updated
            return True

        def on_round(envelope: Envelope) -> bool:
            if envelope.type not in ROUND_EVENTS:
                return False
            event = cast(RoundFactsV1, CATALOG.decode(envelope))
            self._window_ts = window_timestamp(event.window_starts_at, self.zone)
            updated = fold_round(rounds[event.round_id].value() or None, envelope.type, event.route_id)
            if updated is None:
                return False
            rounds[event.round_id] = updated
            return True

        def on_route(envelope: Envelope) -> bool:
            if envelope.type != ROUTE_PUBLISHED:
                return False
            route = cast(RoutePublishedV1, CATALOG.decode(envelope))
            published = {"version": route.version, "name": route.name, "area": route.area,
                         "checkpoint_ids": list(route.checkpoint_ids)}
            if not newer_route(routes.get(route.route_id), published):
                return False
            routes[route.route_id] = published
            return True

        def on_signal(envelope: Envelope) -> bool:
            if envelope.type != ALERT_SIGNAL or envelope.producer != self.service:
                return False
            signal = cast(AlertSignalV1, CATALOG.decode(envelope))
            round_id = resolved_not_started(signal.action.value, signal.dedup_key, signal.source.service,
                                            signal.source.entity_type, signal.source.entity_id)
            if round_id is None or signal.dedup_key in resolved:
                return False
            resolved[signal.dedup_key] = round_id
            return True

        for name, topic, fold in (("scans", scans_in, on_scan), ("rounds", rounds_in, on_round),
                                  ("routes", routes_in, on_route), ("signals", signals_in, on_signal)):
            app.agent(topic, name=f"live-{name}", concurrency=1)(self._agent(fold, deadletters))
        app.finalize()
        return app

    def _nightly(self, table: Any, keep: timedelta) -> WindowWrapper:
        wrapper = cast(WindowWrapper, table.tumbling(NIGHT_SECONDS, expires=keep))
        return cast(WindowWrapper, wrapper.relative_to(self._event_time))

    def _event_time(self, _event: Any = None) -> float:
        return self._window_ts

    def _agent(self, fold: Callable[[Envelope], bool], deadletters: Any) -> Callable[[Any], Any]:
        async def agent(stream: faust.StreamT) -> None:
            async for event in stream.events():
                message = event.message
                envelope: Envelope | None = None
                try:
                    envelope = Envelope.from_bytes(message.value)
                    changed = fold(envelope)
                except (EnvelopeError, ValueError, LookupError) as exc:  # ValidationError is a ValueError
                    await self._dead_letter(deadletters, message, envelope, f"{type(exc).__name__}: {exc}")
                    changed = False
                self.processed += 1
                self.processed_in_all_starts += 1
                if changed:
                    await self._notify()
                self._finished[(message.topic, message.partition)] = message.offset

        return agent

    async def _dead_letter(self, deadletters: Any, message: Any, envelope: Envelope | None, reason: str) -> None:
        dead = poison_dead_letter(cast(ConsumerRecord, message), envelope, reason, app_id=self.app_id,
                                  producer=self.service, at=self.clock.now())
        log.error("live coverage: event dead-lettered", topic=message.topic, partition=message.partition,
                  offset=message.offset, reason=dead.payload["reason"])
        await deadletters.send(key=dead.key.encode(), value=dead.to_bytes(), headers=dead.headers())
        self.dead_lettered += 1

    async def _notify(self) -> None:
        self.version += 1
        async with self._changed:
            self._changed.notify_all()

    async def changes(self, timeout: float) -> int:
        """Wait until the state changed (or ``timeout`` passed); the current version."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        return self.version

    # --- reading ----------------------------------------------------------------------------------------

    def night(self, night: date) -> NightState:
        """The tables' state for one night (what this process holds; see ``held_partitions``)."""
        if self._app is None:
            raise LookupError("live coverage is not running")
        return night_state(self._tables, night, self.record.seed)
