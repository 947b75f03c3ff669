"""What every use case of alerts needs: the runtime (database, events, clock), settings and the time zone.

Built once in ``bootstrap``; HTTP routes get it as a FastAPI dependency (``Context``), timer handlers,
consumers and background loops have it bound when they are registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from alerts.settings import AlertsSettings
from pingan_shared.events.factory import EventFactory
from pingan_shared.service import ServiceRuntime


@dataclass(frozen=True, repr=False)
class AlertsContext:
    runtime: ServiceRuntime
    settings: AlertsSettings

    @property
    def zone(self) -> ZoneInfo:
        return self.runtime.platform.timezone

    @property
    def events(self) -> EventFactory:
        return self.runtime.events

    def now(self) -> datetime:
        return self.runtime.clock.now()


def context(request: Request) -> AlertsContext:
    ctx: AlertsContext = request.app.state.alerts
    return ctx


Context = Annotated[AlertsContext, Depends(context)]
