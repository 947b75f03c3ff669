"""Builds the inspection service: every dependency wired here, nothing connects until start.

Adding a thing is one line: a router in ``inspection.api.ROUTERS``, a timer handler in
``inspection.timers.HANDLERS``, a consumer in ``inspection.consumers.specs``.
"""

from __future__ import annotations

from inspection import consumers, timers
from inspection.api import ROUTERS
from inspection.context import InspectionContext
from inspection.settings import InspectionSettings
from pingan_shared.clock import Clock
from pingan_shared.events.catalog import (
    TOPIC_INSPECTION_CYCLES,
    TOPIC_INSPECTION_HAZARD_ANSWERS,
    TOPIC_INSPECTION_NOTICES,
    TOPIC_INSPECTION_TASKS,
    signal_topic,
)
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings

PRODUCES = [TOPIC_INSPECTION_CYCLES, TOPIC_INSPECTION_NOTICES, TOPIC_INSPECTION_TASKS,
            signal_topic("inspection"), TOPIC_INSPECTION_HAZARD_ANSWERS]


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: InspectionSettings | None = None, clock: Clock | None = None
) -> Service:
    settings = settings or InspectionSettings()
    runtime = ServiceRuntime.for_service("inspection", settings, platform=platform, clock=clock, produces=PRODUCES)
    ctx = InspectionContext(runtime, settings)
    # Handlers need the context, the context needs the runtime: bound here, before anything starts.
    runtime.timer_handlers = timers.handlers(ctx)
    runtime.consumers = consumers.specs(ctx)
    app = create_service_app(runtime, ROUTERS)
    app.state.inspection = ctx
    return Service(runtime, app)
