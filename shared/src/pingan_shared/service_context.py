"""What every use case of a service needs: its runtime (database, events, clock), its settings and the time zone.

Each service builds one ``ServiceContext`` (a subclass naming its settings type, with any extras of its own) in its
``bootstrap`` and keeps it on ``app.state``; HTTP routes get it through the dependency ``context_dependency`` makes,
timer handlers, consumers and background loops have it bound when they are registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Request

from pingan_shared.events.factory import EventFactory
from pingan_shared.service import ServiceRuntime
from pingan_shared.settings import ServiceSettings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
ContextT = TypeVar("ContextT", bound="ServiceContext[Any]")


@dataclass(frozen=True, repr=False)
class ServiceContext(Generic[SettingsT]):
    runtime: ServiceRuntime
    settings: SettingsT

    @property
    def zone(self) -> ZoneInfo:
        return self.runtime.platform.timezone

    @property
    def events(self) -> EventFactory:
        return self.runtime.events

    def now(self) -> datetime:
        return self.runtime.clock.now()


def context_dependency(state_attribute: str, context_type: type[ContextT]) -> Callable[[Request], ContextT]:
    """The FastAPI dependency ``context(request)``: the service's context, kept on ``app.state.<state_attribute>``."""

    def context(request: Request) -> ContextT:
        ctx: ContextT = getattr(request.app.state, state_attribute)
        return ctx

    context.__qualname__ = f"{context_type.__name__}.context"
    return context
