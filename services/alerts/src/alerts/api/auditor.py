"""The auditor's findings for operators: stalled steps, alerts whose policy leads nowhere, stuck deliveries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from alerts.auditor import run_checks
from alerts.context import Context
from pingan_shared.auth import Principal, Role
from pingan_shared.http.security import require_roles

router = APIRouter(prefix="/v1", tags=["auditor"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.get("/auditor")
async def audit_now(ctx: Context, _: Admin) -> dict[str, Any]:
    """Every check run now (a stalled step whose timer is gone is re-armed as it is found); the same findings
    feed the ``pingan_alerts_<check>`` gauges on /metrics."""
    return await run_checks(ctx)
