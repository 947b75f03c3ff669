"""Builds the patrol service: every dependency wired here, nothing connects until start."""

from __future__ import annotations

from patrol import consumers, timers
from patrol.api import ROUTERS
from patrol.context import PatrolContext
from patrol.live.settings import LiveCoverageSettings
from patrol.live.wiring import install_live_coverage
from patrol.settings import PatrolSettings
from pingan_shared.clock import Clock
from pingan_shared.events.catalog import (
    TOPIC_PATROL_FLAGS,
    TOPIC_PATROL_HAZARDS,
    TOPIC_PATROL_ROUNDS,
    TOPIC_PATROL_ROUTES,
    TOPIC_PATROL_SCANS,
    TOPIC_PATROL_SHIFT_ANSWERS,
    signal_topic,
)
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings

PRODUCES = [TOPIC_PATROL_SCANS, TOPIC_PATROL_ROUTES, TOPIC_PATROL_ROUNDS, signal_topic("patrol"), TOPIC_PATROL_FLAGS,
            TOPIC_PATROL_HAZARDS, TOPIC_PATROL_SHIFT_ANSWERS]


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: PatrolSettings | None = None, clock: Clock | None = None,
    live: LiveCoverageSettings | None = None,
) -> Service:
    settings = settings or PatrolSettings()
    runtime = ServiceRuntime.for_service(
        "patrol", settings, platform=platform, clock=clock, produces=PRODUCES
    )
    ctx = PatrolContext(runtime, settings)
    # Handlers need the context, the context needs the runtime: bound here, before anything starts.
    runtime.timer_handlers = timers.handlers(ctx)
    runtime.consumers = consumers.specs(ctx)
    app = create_service_app(runtime, ROUTERS)
    app.state.patrol = ctx
    install_live_coverage(runtime, app, live)
    return Service(runtime, app)
