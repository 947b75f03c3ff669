"""Puts the live coverage stream into the patrol process: a background job of the runtime (started after the
pool, stopped with the service) and ``app.state.live_coverage`` for the HTTP routes. Off when
``PATROL_LIVE_ENABLED`` is false or on an intake replica (``PATROL_RUN_CONSUMERS`` false): then no faust app runs
here and the routes answer 503 (route ``/v1/coverage/*`` to the replicas that consume)."""

from __future__ import annotations

from fastapi import FastAPI

from patrol.live.settings import LiveCoverageSettings
from patrol.live.stream import LiveCoverage
from pingan_shared.service import ServiceRuntime

JOB_NAME = "live-coverage"


def install_live_coverage(runtime: ServiceRuntime, app: FastAPI,
                          settings: LiveCoverageSettings | None = None) -> LiveCoverage | None:
    settings = settings or LiveCoverageSettings()
    app.state.live_coverage = None
    if not settings.enabled or not runtime.settings.run_consumers:
        return None
    # the database: after a broker loss the view is rebuilt from the record (stream.py)
    live = LiveCoverage(runtime.platform, settings, runtime.clock, service=runtime.name, connection=runtime.connection)
    runtime.background = {**runtime.background, JOB_NAME: live.run}
    app.state.live_coverage = live
    return live
