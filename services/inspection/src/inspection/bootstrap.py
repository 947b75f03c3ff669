"""Builds the inspection service (skeleton: health, readiness, metrics, migrations, relay)."""

from __future__ import annotations

from inspection.settings import InspectionSettings
from pingan_shared.clock import Clock
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: InspectionSettings | None = None, clock: Clock | None = None
) -> Service:
    runtime = ServiceRuntime.for_service("inspection", settings or InspectionSettings(), platform=platform, clock=clock)
    return Service(runtime, create_service_app(runtime, []))
