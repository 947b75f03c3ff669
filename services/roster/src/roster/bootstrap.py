"""Builds the roster service: every dependency wired here, nothing connects until start."""

from __future__ import annotations

from pingan_shared.clock import Clock
from pingan_shared.events.catalog import (
    TOPIC_DIRECTORY,
    TOPIC_ROSTER_ATTENDANCE,
    TOPIC_ROSTER_SHIFTS,
    signal_topic,
)
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings
from roster import consumers, solving, timers
from roster.api import ROUTERS
from roster.context import RosterContext
from roster.settings import RosterSettings

# the directory too: roster owns it, and under compose (no topic auto-creation) its owner must not depend on a
# reader having created the compacted topic first
PRODUCES = [TOPIC_ROSTER_SHIFTS, TOPIC_ROSTER_ATTENDANCE, TOPIC_DIRECTORY, signal_topic("roster")]


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: RosterSettings | None = None, clock: Clock | None = None
) -> Service:
    settings = settings or RosterSettings()
    runtime = ServiceRuntime.for_service("roster", settings, platform=platform, clock=clock, produces=PRODUCES)
    ctx = RosterContext(runtime, settings)
    # Handlers need the context, the context needs the runtime: bound here, before anything starts.
    runtime.consumers = consumers.specs(ctx)
    runtime.timer_handlers = timers.handlers(ctx)
    # solving runs off the request path: a durable job row, claimed by this loop on any replica
    runtime.background = {"solve-worker": lambda: solving.solve_worker(ctx)}
    app = create_service_app(runtime, ROUTERS)
    app.state.roster = ctx
    return Service(runtime, app)
