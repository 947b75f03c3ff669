"""Alerts: read them (a supervisor those of its scope, a unit its own, an admin all), acknowledge, escalate
now or to a chosen step, resolve, and read the audit timeline.

An alert outside what the principal may see answers exactly as one that does not exist (404 "告警不存在").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from alerts import acknowledgement, escalation, resolution, timeline
from alerts.api.common import Reason, StepIndex, by, refused
from alerts.context import AlertsContext, Context
from alerts.domain.access import READERS, can_resolve, can_see
from alerts.escalation import EscalationRefused
from alerts.store import alerts as store
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["alerts"])

NOT_FOUND = "告警不存在"
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


async def alert_view(conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any]:
    step = escalation.current_step(row)
    waiting: list[str] = []
    if step is not None and step.requires_all_acks and row["status"] != "resolved":
        acked = await store.acks(conn, row["id"], step=row["current_step"], loop=row["loop"])
        waiting = [t for t in step.targets if t not in acked]
    return jsonable_encoder({
        "id": row["id"], "dedup_key": row["dedup_key"], "kind": row["kind"], "severity": row["severity"],
        "summary": row["summary"], "unit_id": row["unit_id"], "area": row["area"], "source": row["source"],
        "status": row["status"], "policy": row["policy"], "current_step": row["current_step"],
        "current_label": step.label if step else None, "loop": row["loop"], "step_fired_at": row["step_fired_at"],
        "next_escalation_at": row["next_escalation_at"], "next_reminder_at": row["next_reminder_at"],
        "held": row["held_since"] is not None, "waiting_for_acks": waiting, "raised_at": row["raised_at"],
        "acknowledged_at": row["acknowledged_at"], "acknowledged_by": row["acknowledged_by"],
        "resolved_at": row["resolved_at"], "resolved_by": row["resolved_by"], "resolve_reason": row["resolve_reason"],
    })


def _visible(row: asyncpg.Record | None, principal: Principal) -> asyncpg.Record:
    if row is None or not can_see(principal, unit_id=row["unit_id"], area=row["area"]):
        raise ApiError(404, NOT_FOUND, field="alert_id")
    return row


@router.get("/alerts")
async def list_alerts(
    ctx: Context, principal: Reader,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
    kind: Annotated[StorableStr | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[StorableStr | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Alerts in id order, ``limit`` at a time after ``after``: a unit's own, a scoped supervisor's scope."""
    unit_id = principal.unit_id if principal.role is Role.UNIT else None
    scope = principal.scope if principal.role is Role.SUPERVISOR else None
    async with ctx.runtime.connection() as conn:
        rows = await store.page(conn, unit_id=unit_id, scope=scope, status=status, kind=kind, limit=limit, after=after)
        items = [await alert_view(conn, r) for r in rows]
    return {"items": items, "next_after": rows[-1]["id"] if len(rows) == limit else None}


@router.get("/alerts/{alert_id}")
async def get_alert(alert_id: AlertId, ctx: Context, principal: Reader) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        return await alert_view(conn, _visible(await store.get(conn, alert_id), principal))


@router.get("/alerts/{alert_id}/timeline")
async def alert_timeline(alert_id: AlertId, ctx: Context, principal: Reader) -> list[dict[str, Any]]:
    """全程留痕: raised, each step, notifications (and delivery attempts), acknowledgements, silences, resolve."""
    async with ctx.runtime.connection() as conn:
        _visible(await store.get(conn, alert_id), principal)
        return jsonable_encoder(await timeline.read(conn, alert_id))


Change = Callable[[asyncpg.Connection, asyncpg.Record], Awaitable[asyncpg.Record]]


async def _change(ctx: AlertsContext, alert_id: str, principal: Principal, change: Change) -> dict[str, Any]:
    """Lock the alert, check it is visible, apply ``change`` in one transaction, answer with the alert."""
    async with ctx.runtime.connection() as conn:
        try:
            async with conn.transaction():
                row = _visible(await store.lock(conn, alert_id), principal)
                row = await change(conn, row)
        except EscalationRefused as exc:
            raise refused(exc.reason, exc.field, conflict=exc.conflict) from None
        return await alert_view(conn, row)


@router.post("/alerts/{alert_id}/acknowledgement", responses=error_responses(409))
async def acknowledge(alert_id: AlertId, ctx: Context, principal: Reader) -> dict[str, Any]:
    """确认: stops the climb (until the step's ack timeout, if it has one). A multi-ack step (约谈) needs every
    target's acknowledgement; each person acknowledges for the targets they answer for."""
    return await _change(ctx, alert_id, principal, lambda conn, row: acknowledgement.acknowledge(
        conn, ctx, row, principal, now=ctx.now()))


@router.post("/alerts/{alert_id}/escalation", responses=error_responses(409))
async def escalate(alert_id: AlertId, body: EscalationIn, ctx: Context, principal: Manager) -> dict[str, Any]:
    """升级: take the next step now, or jump to ``to_step``; an acknowledged alert is open again."""
    return await _change(ctx, alert_id, principal, lambda conn, row: escalation.escalate_now(
        conn, ctx, row, to_step=body.to_step, by=by(principal), now=ctx.now()))


@router.post("/alerts/{alert_id}/resolution", responses=error_responses(409))
async def resolve(alert_id: AlertId, body: ResolutionIn, ctx: Context, principal: Manager) -> dict[str, Any]:
    """关闭: no later step fires."""
    assert can_resolve(principal)

    async def close(conn: asyncpg.Connection, row: asyncpg.Record) -> asyncpg.Record:
        if row["status"] == "resolved":
            raise EscalationRefused("告警已关闭（already resolved）", field="status")
        return await resolution.resolve(conn, ctx, row, by=by(principal), reason=body.reason, now=ctx.now())

    return await _change(ctx, alert_id, principal, close)
