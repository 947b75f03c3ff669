"""What every use case of inspection needs: the runtime (database, events, clock), settings and the time zone.

Built once in ``bootstrap``; HTTP routes get it as a FastAPI dependency (``Context``), timer handlers and
consumers have it bound when they are registered.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from inspection.settings import InspectionSettings
from pingan_shared.service_context import ServiceContext, context_dependency


class InspectionContext(ServiceContext[InspectionSettings]):
    """The shared ``ServiceContext`` with inspection's settings."""


context = context_dependency("inspection", InspectionContext)

Context = Annotated[InspectionContext, Depends(context)]
