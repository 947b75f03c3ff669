"""Builds the alerts service: every dependency wired here, nothing connects until start.

Adding a thing is one line: a router in ``alerts.api.ROUTERS``, a timer handler in ``alerts.timers``, a consumer
in ``alerts.consumers``, a background loop in ``background_jobs`` below.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from alerts import consumers, delivery, timers
from alerts.api import ROUTERS
from alerts.auditor import Auditor
from alerts.context import AlertsContext
from alerts.settings import AlertsSettings
from pingan_shared.clock import Clock
from pingan_shared.events.catalog import TOPIC_ALERTS
from pingan_shared.service import Service, ServiceRuntime, create_service_app
from pingan_shared.settings import PlatformSettings

PRODUCES = [TOPIC_ALERTS]


def background_jobs(ctx: AlertsContext) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    return {
        "alerts-auditor": Auditor(ctx).run,  # stalled steps, alerts leading nowhere (alerts.auditor)
        **delivery.background_jobs(ctx),
    }


def bootstrap(
    *, platform: PlatformSettings | None = None, settings: AlertsSettings | None = None, clock: Clock | None = None
) -> Service:
    settings = settings or AlertsSettings()
    runtime = ServiceRuntime.for_service("alerts", settings, platform=platform, clock=clock, produces=PRODUCES)
    ctx = AlertsContext(runtime, settings)
    # Handlers need the context, the context needs the runtime: bound here, before anything starts.
    runtime.timer_handlers = timers.handlers(ctx)
    runtime.consumers = consumers.specs(ctx)
    runtime.background = background_jobs(ctx)
    runtime.serving = {**delivery.serving_jobs(ctx), **timers.escalation_runners(ctx)}  # timers run on every replica
    app = create_service_app(runtime, ROUTERS)
    app.state.alerts = ctx
    return Service(runtime, app)
