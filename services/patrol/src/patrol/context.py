"""What every patrol use case needs: the runtime (database, events, clock), settings, the scan policy and the
time zone. Built once in ``bootstrap``; HTTP routes get it as a FastAPI dependency (``Context``), timer
handlers and consumers have it bound when they are registered."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends

from patrol.domain.scans import ScanPolicy
from patrol.settings import PatrolSettings
from pingan_shared.service_context import ServiceContext, context_dependency


class PatrolContext(ServiceContext[PatrolSettings]):
    """The shared ``ServiceContext`` with patrol's settings, and the scan policy they set."""

    @property
    def policy(self) -> ScanPolicy:
        return ScanPolicy(
            max_future_skew=timedelta(seconds=self.settings.max_future_skew_seconds),
            max_offline_age=timedelta(hours=self.settings.max_offline_age_hours),
            clock_tolerance=timedelta(seconds=self.settings.clock_tolerance_seconds),
        )


context = context_dependency("patrol", PatrolContext)

Context = Annotated[PatrolContext, Depends(context)]
