"""What every patrol use case needs: the runtime (database, events, clock), settings, the scan policy and the
time zone. Built once in ``bootstrap``; HTTP routes get it as a FastAPI dependency (``Context``), timer
handlers and consumers have it bound when they are registered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from patrol.domain.scans import ScanPolicy
from patrol.settings import PatrolSettings
from pingan_shared.events.factory import EventFactory
from pingan_shared.service import ServiceRuntime


@dataclass(frozen=True, repr=False)
class PatrolContext:
    runtime: ServiceRuntime
    settings: PatrolSettings

    @property
    def policy(self) -> ScanPolicy:
        return ScanPolicy(
            max_future_skew=timedelta(seconds=self.settings.max_future_skew_seconds),
            max_offline_age=timedelta(hours=self.settings.max_offline_age_hours),
            clock_tolerance=timedelta(seconds=self.settings.clock_tolerance_seconds),
        )

    @property
    def zone(self) -> ZoneInfo:
        return self.runtime.platform.timezone

    @property
    def events(self) -> EventFactory:
        return self.runtime.events

    def now(self) -> datetime:
        return self.runtime.clock.now()


def context(request: Request) -> PatrolContext:
    ctx: PatrolContext = request.app.state.patrol
    return ctx


Context = Annotated[PatrolContext, Depends(context)]
