"""What every use case of roster needs: the runtime (database, events, clock), settings and the time zone.

Built once in ``bootstrap``; HTTP routes get it as a FastAPI dependency (``Context``), timer handlers, consumers
and background jobs have it bound when they are registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from pingan_shared.events.factory import EventFactory
from pingan_shared.service import ServiceRuntime
from roster.settings import RosterSettings


@dataclass(frozen=True, repr=False)
class RosterContext:
    runtime: ServiceRuntime
    settings: RosterSettings

    @property
    def zone(self) -> ZoneInfo:
        return self.runtime.platform.timezone

    @property
    def events(self) -> EventFactory:
        return self.runtime.events

    def now(self) -> datetime:
        return self.runtime.clock.now()


def context(request: Request) -> RosterContext:
    ctx: RosterContext = request.app.state.roster
    return ctx


Context = Annotated[RosterContext, Depends(context)]
