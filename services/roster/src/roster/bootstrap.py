"""Builds the roster service: every dependency wired here, nothing connects until start."""

from __future__ import annotations

from pingan_shared.clock import Clock
from pingan_shared.events.catalog import (
    SCAN_ACCEPTED,
    TOPIC_ROSTER_ATTENDANCE,
    TOPIC_ROSTER_SHIFTS,
    signal_topic,
)
from pingan_shared.messaging.consumer import ConsumerSpec
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings
from roster import handoff, noshows, presence, solving
from roster.api import ROUTERS
from roster.attendance import scans_handler
from roster.context import RosterContext
from roster.settings import RosterSettings


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: RosterSettings | None = None, clock: Clock | None = None
) -> Service:
    platform = platform or PlatformSettings()
    settings = settings or RosterSettings()
    runtime = ServiceRuntime.for_service(
        "roster", settings, platform=platform, clock=clock,
        produces=[TOPIC_ROSTER_SHIFTS, TOPIC_ROSTER_ATTENDANCE, signal_topic("roster")],
    )
    ctx = RosterContext(runtime, settings)
    # attendance: daily tallies and presence on shifts from accepted scans; no-show checks (durable timers)
    runtime.consumers = [ConsumerSpec("roster.attendance", batch_handlers={
        SCAN_ACCEPTED: scans_handler(platform.timezone, presence.scans_hook(ctx))})]
    runtime.timer_handlers = {**noshows.timer_handlers(ctx), **handoff.handlers(ctx)}
    # solving runs off the request path: a durable job row, claimed by this loop on any replica
    runtime.background = {"solve-worker": lambda: solving.solve_worker(ctx)}
    app = create_service_app(runtime, ROUTERS)
    app.state.roster = ctx
    return Service(runtime, app)
