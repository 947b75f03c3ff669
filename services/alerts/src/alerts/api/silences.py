"""Silences and maintenance windows: created by an admin, or by a supervisor within its scope (a scoped
supervisor's silence must name its own unit or area); listed by both; ended early with DELETE."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts import silences
from alerts.api.common import Moment, Text100, Text200, Text500, UnitId, by
from alerts.context import Context
from alerts.domain.access import within_scope
from alerts.store import silences as store
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["silences"])

Manager = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
SilenceId = Annotated[StorableStr, Path(max_length=64)]
NOT_FOUND = "静默不存在"


class SilenceIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Text100 | None = Field(default=None, description="empty: any kind")
    unit_id: UnitId | None = Field(default=None, description="empty: any unit")
    area: Text200 | None = Field(default=None, description="empty: any area")
    starts_at: Moment
    ends_at: Moment = Field(description="after starts_at")
    reason: Text500 = Field(description="e.g. 台风“海葵”过境，暂停督办通知")


def silence_view(row: asyncpg.Record) -> dict[str, Any]:
    return jsonable_encoder({k: row[k] for k in (
        "id", "kind", "unit_id", "area", "starts_at", "ends_at", "reason", "created_by", "created_at",
        "ended_early_at", "released_at")})


def _scoped(principal: Principal, unit_id: str | None, area: str | None) -> bool:
    return within_scope(principal, unit_id=unit_id, area=area)


@router.post("/silences", status_code=201)
async def create_silence(body: SilenceIn, ctx: Context, principal: Manager) -> JSONResponse:
    if body.ends_at <= body.starts_at:
        raise ApiError(422, "结束时间须晚于开始时间（ends_at must be after starts_at）", field="body.ends_at")
    now = ctx.now()
    if body.ends_at <= now:
        raise ApiError(422, "结束时间已过（ends_at is in the past）", field="body.ends_at")
    if not _scoped(principal, body.unit_id, body.area):
        raise ApiError(403, f"只能静默本辖区（{principal.scope}）的告警：请填写 unit_id 或 area 为本辖区",
                       field="body.unit_id")
    async with ctx.runtime.connection() as conn, conn.transaction():
        row = await silences.create(conn, kind=body.kind, unit_id=body.unit_id, area=body.area,
                                    starts_at=body.starts_at, ends_at=body.ends_at, reason=body.reason,
                                    by=by(principal), now=now)
    return JSONResponse(status_code=201, content=silence_view(row))


@router.get("/silences")
async def list_silences(ctx: Context, principal: Manager, current: bool = True) -> list[dict[str, Any]]:
    """Silences (by default only those not yet over); a scoped supervisor sees those of its scope."""
    async with ctx.runtime.connection() as conn:
        rows = await store.listing(conn, current_only=current, now=ctx.now())
    return [silence_view(r) for r in rows if _scoped(principal, r["unit_id"], r["area"])]


@router.delete("/silences/{silence_id}")
async def end_silence(silence_id: SilenceId, ctx: Context, principal: Manager) -> dict[str, Any]:
    """End a silence now: what it held and is still open is notified at once."""
    async with ctx.runtime.connection() as conn:
        async with conn.transaction():
            row = await store.get(conn, silence_id, for_update=True)
            if row is None or not _scoped(principal, row["unit_id"], row["area"]):
                raise ApiError(404, NOT_FOUND, field="silence_id")
            released = 0
            if row["released_at"] is None:
                released = await silences.release(conn, row, now=ctx.now(), early=True)
        ended = await store.get(conn, silence_id)
    assert ended is not None
    return {**silence_view(ended), "released_alerts": released}
