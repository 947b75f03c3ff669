"""Silences and maintenance windows: created by an admin, or by a supervisor within its scope (a scoped
supervisor's silence must name its own unit or area); listed by both; ended early with DELETE."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts import silences
from alerts.api.common import Moment, Text100, Text200, Text500, UnitId, by
from alerts.context import Context
from pingan_shared.auth import Principal, Role
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["silences"])

Manager = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
SilenceId = Annotated[StorableStr, Path(max_length=64)]


class SilenceIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Text100 | None = Field(default=None, description="empty: any kind")
    unit_id: UnitId | None = Field(default=None, description="empty: any unit")
    area: Text200 | None = Field(default=None, description="empty: any area")
    place: UnitId | None = Field(default=None, description=(
        "a place of the directory (its code, or its unique name: 塘下镇): every alert in it or beneath it, from "
        "every source; empty: anywhere"))
    starts_at: Moment
    ends_at: Moment = Field(description="after starts_at")
    reason: Text500 = Field(description="e.g. 台风“海葵”过境，暂停督办通知")


@router.post("/silences", status_code=201)
async def create_silence(body: SilenceIn, ctx: Context, principal: Manager) -> JSONResponse:
    view = await silences.create(ctx, principal, kind=body.kind, unit_id=body.unit_id, area=body.area,
                                 place=body.place,
                                 starts_at=body.starts_at, ends_at=body.ends_at, reason=body.reason,
                                 by=by(principal))
    return JSONResponse(status_code=201, content=view)


@router.get("/silences")
async def list_silences(ctx: Context, principal: Manager, current: bool = True) -> list[dict[str, Any]]:
    """Silences (by default only those not yet over); a scoped supervisor sees those of its scope."""
    return await silences.listing(ctx, principal, current=current)


@router.delete("/silences/{silence_id}")
async def end_silence(silence_id: SilenceId, ctx: Context, principal: Manager) -> dict[str, Any]:
    """End a silence now: what it held and is still open is notified at once."""
    return await silences.end_early(ctx, principal, silence_id)
