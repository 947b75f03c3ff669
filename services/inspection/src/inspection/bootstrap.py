"""Builds the inspection service (skeleton: health, readiness, metrics, migrations, relay)."""

from __future__ import annotations

from inspection.settings import InspectionSettings
from pingan_shared.clock import Clock, clock_from_scale
from pingan_shared.db.migrations import load_migrations
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: InspectionSettings | None = None, clock: Clock | None = None
) -> Service:
    platform = platform or PlatformSettings()
    runtime = ServiceRuntime(
        name="inspection",
        platform=platform,
        settings=settings or InspectionSettings(),
        clock=clock or clock_from_scale(platform.pingan_clock_scale),
        migrations=load_migrations("inspection", "inspection"),
    )
    return Service(runtime, create_service_app(runtime, []))
