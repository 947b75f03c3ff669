"""What every use case of roster needs: the runtime (database, events, clock), settings and the time zone.

Built once in ``bootstrap``; HTTP routes get it as a FastAPI dependency (``Context``), timer handlers, consumers
and background jobs have it bound when they are registered.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pingan_shared.service_context import ServiceContext, context_dependency
from roster.settings import RosterSettings


class RosterContext(ServiceContext[RosterSettings]):
    """The shared ``ServiceContext`` with roster's settings."""


context = context_dependency("roster", RosterContext)

Context = Annotated[RosterContext, Depends(context)]
