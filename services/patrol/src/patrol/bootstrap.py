"""Builds the patrol service: every dependency wired here, nothing connects until start."""

from __future__ import annotations

from patrol.api import PatrolContext, router
from patrol.settings import PatrolSettings
from pingan_shared.clock import Clock, clock_from_scale
from pingan_shared.db.migrations import load_migrations
from pingan_shared.events.catalog import TOPIC_PATROL_SCANS
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: PatrolSettings | None = None, clock: Clock | None = None
) -> Service:
    platform = platform or PlatformSettings()
    settings = settings or PatrolSettings()
    runtime = ServiceRuntime(
        name="patrol",
        platform=platform,
        settings=settings,
        clock=clock or clock_from_scale(platform.pingan_clock_scale),
        migrations=load_migrations("patrol", "patrol"),
        produces=[TOPIC_PATROL_SCANS],
    )
    app = create_service_app(runtime, [router])
    app.state.patrol = PatrolContext(runtime, settings)
    return Service(runtime, app)
