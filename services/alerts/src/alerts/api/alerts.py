"""Alerts: read them (a supervisor those of its scope, a unit its own, an admin all), acknowledge, escalate
now or to a chosen step, resolve, and read the audit timeline.

An alert outside what the principal may see answers exactly as one that does not exist (404 "告警不存在").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from alerts import acknowledgement, escalation, resolution, views
from alerts.api.common import Reason, StepIndex, by
from alerts.context import Context
from alerts.domain.access import READERS, can_resolve
from pingan_shared.auth import Principal, Role
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import After, Limit, Page
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["alerts"])

Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Manager = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
AlertId = Annotated[StorableStr, Path(max_length=64)]


class EscalationIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    to_step: StepIndex | None = Field(default=None, description=(
        "0-based step of the alert's frozen ladder to jump to (in the current climb); omitted: the next step"))


class ResolutionIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Reason = Field(default="", description="why it is closed, e.g. 已整改到位")


@router.get("/alerts")
async def list_alerts(
    ctx: Context, principal: Reader,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
    kind: Annotated[StorableStr | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[dict[str, Any]]:
    """Alerts in id order, ``limit`` at a time after ``after``: a unit's own, a scoped supervisor's scope."""
    return await views.page(ctx, principal, status=status, kind=kind, limit=limit, after=after)


@router.get("/alerts/{alert_id}")
async def get_alert(alert_id: AlertId, ctx: Context, principal: Reader) -> dict[str, Any]:
    return await views.one(ctx, principal, alert_id)


@router.get("/alerts/{alert_id}/timeline")
async def alert_timeline(alert_id: AlertId, ctx: Context, principal: Reader) -> list[dict[str, Any]]:
    """全程留痕: raised, each step, notifications (and delivery attempts), acknowledgements, silences, resolve."""
    return await views.alert_timeline(ctx, principal, alert_id)


@router.post("/alerts/{alert_id}/acknowledgement", responses=error_responses(409))
async def acknowledge(alert_id: AlertId, ctx: Context, principal: Reader) -> dict[str, Any]:
    """确认: stops the climb (until the step's ack timeout, if it has one). A multi-ack step (约谈) needs every
    target's acknowledgement; each person acknowledges for the targets they answer for."""
    return await views.change(ctx, principal, alert_id, lambda conn, alert: acknowledgement.acknowledge(
        conn, ctx, alert, principal, now=ctx.now()))


@router.post("/alerts/{alert_id}/escalation", responses=error_responses(409))
async def escalate(alert_id: AlertId, body: EscalationIn, ctx: Context, principal: Manager) -> dict[str, Any]:
    """升级: take the next step now, or jump to ``to_step``; an acknowledged alert is open again."""
    return await views.change(ctx, principal, alert_id, lambda conn, alert: escalation.escalate_now(
        conn, ctx, alert, to_step=body.to_step, by=by(principal), now=ctx.now()))


@router.post("/alerts/{alert_id}/resolution", responses=error_responses(409))
async def resolve(alert_id: AlertId, body: ResolutionIn, ctx: Context, principal: Manager) -> dict[str, Any]:
    """关闭: no later step fires."""
    assert can_resolve(principal)
    return await views.change(ctx, principal, alert_id, lambda conn, alert: resolution.resolve(
        conn, ctx, alert, by=by(principal), reason=body.reason, now=ctx.now()))
