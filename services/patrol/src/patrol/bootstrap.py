"""Builds the patrol service: every dependency wired here, nothing connects until start."""

from __future__ import annotations

from patrol.api import ROUTERS
from patrol.context import PatrolContext
from patrol.settings import PatrolSettings
from pingan_shared.clock import Clock
from pingan_shared.events.catalog import TOPIC_PATROL_SCANS
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: PatrolSettings | None = None, clock: Clock | None = None
) -> Service:
    settings = settings or PatrolSettings()
    runtime = ServiceRuntime.for_service(
        "patrol", settings, platform=platform, clock=clock, produces=[TOPIC_PATROL_SCANS]
    )
    app = create_service_app(runtime, ROUTERS)
    app.state.patrol = PatrolContext(runtime, settings)
    return Service(runtime, app)
