"""What every use case of alerts needs: the runtime (database, events, clock), settings and the time zone.

Built once in ``bootstrap``; HTTP routes get it as a FastAPI dependency (``Context``), timer handlers,
consumers and background loops have it bound when they are registered.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from alerts.settings import AlertsSettings
from pingan_shared.service_context import ServiceContext, context_dependency


class AlertsContext(ServiceContext[AlertsSettings]):
    """The shared ``ServiceContext`` with alerts's settings."""


context = context_dependency("alerts", AlertsContext)

Context = Annotated[AlertsContext, Depends(context)]
