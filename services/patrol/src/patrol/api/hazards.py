"""Hazard reports (隐患上报): ``POST /v1/hazards`` by a patrol device for its own team, ``GET /v1/hazards`` for
organisers, supervisors and admins. Each report becomes ``patrol.hazard-reported`` (inspection: a 24-hour task);
what inspection could not take as reported shows on the report (``inspection_problems``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from patrol import hazards
from patrol.context import Context
from patrol.domain.hazards import HazardCategory, HazardIn
from patrol.scope import areas_for
from pingan_shared.auth import Principal, Role
from pingan_shared.events.contracts import RefusalProblem
from pingan_shared.http.app import request_correlation_id
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_response
from pingan_shared.http.paging import Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import Moment
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["hazards"])
Device = Annotated[Principal, Depends(require_roles(Role.PATROL_DEVICE))]
Overseer = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.SUPERVISOR, Role.ADMIN))]


class HazardReport(BaseModel):
    """A stored report as patrol answers it: ``hazard_id`` is patrol's (the id inspection's task refers to)."""

    hazard_id: str
    client_hazard_id: str
    team_id: str
    member_id: str
    device_id: str
    category: HazardCategory
    description: str
    place: str
    latitude: float | None
    longitude: float | None
    photo_refs: list[str]
    unit_id: str | None
    reported_at: datetime
    received_at: datetime
    inspection_problems: list[RefusalProblem] | None = Field(default=None, description=(
        "what inspection could not take as reported, for the organiser to fix (the directory, or the unit the team "
        "names): each the field, the value and the reason, Chinese first; null when inspection answered nothing"))
    inspection_task_id: str | None = Field(default=None, description=(
        "the inspection triage task a refused hazard went to all the same"))


_POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": HazardReport, "description": "The same report was sent before under this client_hazard_id: "
          "nothing new is stored or published."},
    201: {"model": HazardReport, "description": "Stored and announced (patrol.hazard-reported)."},
    403: error_response(403, "Not a patrol device, or team_id names another team than the device's."),
    409: error_response(409, "This team already sent a different report under this client_hazard_id."),
}


@router.post("/hazards", status_code=201, response_model=None, responses=_POST_RESPONSES)
async def post_hazard(request: Request, report: HazardIn, ctx: Context, principal: Device) -> JSONResponse:
    """Report a hazard seen on patrol (category, text, position, photo references, the unit if known)."""
    assert principal.team_id is not None
    if report.team_id is not None and report.team_id != principal.team_id:
        raise ApiError(403, f"本设备只能为巡逻队 {principal.team_id} 上报 (this device reports for team "
                            f"{principal.team_id}, not {report.team_id})",
                       field="body.team_id")
    async with ctx.runtime.connection() as conn, conn.transaction():
        answer = await hazards.report_hazard(conn, ctx, report, team_id=principal.team_id, device_id=principal.subject,
                                             correlation_id=request_correlation_id(request))
    return JSONResponse(status_code=201 if answer.created else 200, content=jsonable_encoder(answer.report))


@router.get("/hazards", response_model=Page[HazardReport])
async def list_hazards(
    ctx: Context, principal: Overseer,
    team_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    area: Annotated[StorableStr | None, Query(max_length=200, description=(
        "reports seen on a round in this area (镇街); a supervisor with a scope sees only its own"))] = None,
    since: Annotated[Moment | None, Query(description="received at or after")] = None,
    until: Annotated[Moment | None, Query(description="received before")] = None,
    limit: Limit = 200,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="next_after of the previous page")] = None,
) -> Page[HazardReport]:
    """Hazard reports in the order received, oldest first."""
    async with ctx.runtime.connection() as conn:
        scope = await areas_for(conn, principal, area, field="area")
        found = await hazards.list_hazards(conn, team_id=team_id, since=since, until=until, area=scope, limit=limit,
                                           after=after)
    page = page_of(found, limit, lambda h: h.seq)
    return Page[HazardReport](items=[HazardReport.model_validate(h.public()) for h in page.items],
                              next_after=page.next_after)
