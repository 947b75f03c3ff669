"""Checkpoints (organiser/admin register, everyone may list)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from patrol import checkpoints
from patrol.context import Context
from patrol.domain.checkpoints import Checkpoint, CheckpointRow
from pingan_shared.auth import Principal, Role
from pingan_shared.events.contracts import ScanMethod
from pingan_shared.http.openapi import error_response
from pingan_shared.http.paging import After, Limit, Page, page_of
from pingan_shared.http.security import require_roles

router = APIRouter(prefix="/v1")

_ALL_ROLES = tuple(Role)


class CheckpointOut(BaseModel):
    id: str
    tag: str
    name: str
    latitude: float | None
    longitude: float | None
    radius_m: float
    expected_method: ScanMethod | None
    area: str | None  # the place's directory code
    area_name: str | None  # its name in the directory (null when the directory does not hold the area)


CHECKPOINT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": CheckpointOut, "description": "The same checkpoint was registered before (its area by code or "
                                                 "by name): nothing changed. The checkpoint as stored."},
    201: {"model": CheckpointOut, "description": "Registered, its area as the place's code (and name)."},
    409: error_response(409, "A different checkpoint already has this id or tag."),
    422: error_response(422, "A field is invalid, e.g. an area the directory holds no place of (body.area)."),
}


def checkpoint_out(c: Checkpoint) -> CheckpointOut:
    return CheckpointOut(id=c.id, tag=c.tag, name=c.name, latitude=c.latitude, longitude=c.longitude,
                         radius_m=c.radius_m, area=c.area, area_name=c.area_name,
                         expected_method=None if c.expected_method is None else ScanMethod(c.expected_method))


@router.post("/checkpoints", status_code=201, tags=["checkpoints"], response_model=None,
             responses=CHECKPOINT_RESPONSES)
async def register_checkpoint(
    checkpoint: CheckpointRow,
    ctx: Context,
    _: Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN))],
) -> JSONResponse:
    """Register a checkpoint, in the township or place ``area`` names (a directory code or a place's unique name, as
    the import takes it; the code is stored; 422 naming ``body.area`` for one the directory does not hold).
    Repeating an identical registration is harmless (200), the area given by its code or by its name alike."""
    async with ctx.runtime.connection() as conn:
        registered = await checkpoints.register_at_the_door(conn, checkpoint)
    return JSONResponse(status_code=201 if registered.created else 200,
                        content=checkpoint_out(registered.checkpoint).model_dump(mode="json"))


@router.get("/checkpoints", tags=["checkpoints"], response_model=Page[CheckpointOut])
async def list_checkpoints(
    ctx: Context,
    _: Annotated[Principal, Depends(require_roles(*_ALL_ROLES))],
    limit: Limit = 200,
    after: After = None,
) -> Page[CheckpointOut]:
    async with ctx.runtime.connection() as conn:
        found = await checkpoints.list_checkpoints(conn, limit=limit, after=after)
    return page_of([checkpoint_out(c) for c in found], limit, lambda c: c.id)
