"""Checkpoints (organiser/admin register, everyone may list)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from patrol import store
from patrol.api.docs import CHECKPOINT_RESPONSES
from patrol.context import Context
from patrol.domain.checkpoints import CheckpointIn
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1")

_ALL_ROLES = tuple(Role)


@router.post("/checkpoints", status_code=201, tags=["checkpoints"], response_model=None,
             responses=CHECKPOINT_RESPONSES)
async def register_checkpoint(
    checkpoint: CheckpointIn,
    ctx: Context,
    _: Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))],
) -> JSONResponse:
    """Register a checkpoint. Repeating an identical registration is harmless (200)."""
    async with ctx.runtime.connection() as conn:
        if await store.insert_checkpoint(conn, checkpoint):
            return JSONResponse(status_code=201, content=checkpoint.model_dump(mode="json"))
        existing = await store.checkpoint_by_id_or_tag(conn, checkpoint.id, checkpoint.tag)
    for found in existing:
        if CheckpointIn(**found.__dict__) == checkpoint:
            return JSONResponse(status_code=200, content=checkpoint.model_dump(mode="json"))
    clash = "id" if any(f.id == checkpoint.id for f in existing) else "tag"
    raise ApiError(409, f"a different checkpoint already has this {clash}", field=clash)


@router.get("/checkpoints", tags=["checkpoints"])
async def list_checkpoints(
    ctx: Context,
    _: Annotated[Principal, Depends(require_roles(*_ALL_ROLES))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[StorableStr | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        found = await store.list_checkpoints(conn, limit=limit, after=after)
    return {"checkpoints": [c.__dict__ for c in found], "next_after": found[-1].id if len(found) == limit else None}
