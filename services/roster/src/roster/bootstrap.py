"""Builds the roster service: every dependency wired here, nothing connects until start."""

from __future__ import annotations

from pingan_shared.clock import Clock
from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.messaging.consumer import ConsumerSpec
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings
from roster.api import ROUTERS
from roster.attendance import scans_handler
from roster.context import RosterContext
from roster.settings import RosterSettings


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: RosterSettings | None = None, clock: Clock | None = None
) -> Service:
    platform = platform or PlatformSettings()
    attendance = ConsumerSpec("roster.attendance", batch_handlers={SCAN_ACCEPTED: scans_handler(platform.timezone)})
    settings = settings or RosterSettings()
    runtime = ServiceRuntime.for_service(
        "roster", settings, platform=platform, clock=clock, consumers=[attendance]
    )
    ctx = RosterContext(runtime, settings)
    app = create_service_app(runtime, ROUTERS)
    app.state.roster = ctx
    return Service(runtime, app)
