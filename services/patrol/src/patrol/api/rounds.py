"""/v1/rounds and /v1/compliance: the read side. Organisers, admins and supervisors read all (a supervisor whose
token carries a scope only that township/area); a patrol device only its own team's rounds. Members see nothing
here: another team's rounds say where patrols are not."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from patrol import compliance as compliance_query
from patrol import rounds
from patrol.context import Context
from patrol.domain.rounds import STATE_NAMES, RoundState
from patrol.scope import areas_for
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.paging import After, Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import NO_NUL
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["rounds"])
Reader = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR,
                                                    Role.PATROL_DEVICE))]
Overseer = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.ADMIN, Role.SUPERVISOR))]

_ROUND_FIELDS = ("id", "plan_id", "shift_id", "team_id", "route_id", "route_version", "area", "ordered", "night",
                 "starts_at", "ends_at", "start_due_at", "closes_at", "state", "started_at", "completed_at", "closed")


class RoundSummary(BaseModel):
    """A round in a list: its plan, window and state, and how many of its checkpoints were scanned."""

    id: str
    plan_id: str
    shift_id: str | None
    team_id: str
    route_id: str
    route_version: int
    area: str | None
    ordered: bool
    night: date
    starts_at: datetime
    ends_at: datetime
    start_due_at: datetime
    closes_at: datetime
    state: RoundState
    started_at: datetime | None
    completed_at: datetime | None
    closed: bool
    state_name: str
    expected_checkpoints: int
    scanned_checkpoints: int


def _visible_team(principal: Principal, team_id: str | None) -> str | None:
    if principal.role is Role.PATROL_DEVICE:
        if team_id is not None and team_id != principal.team_id:
            raise ApiError(403, "巡逻设备只能查看本队的轮次 (a patrol device reads only its own team's rounds)",
                           field="team_id")
        return principal.team_id
    return team_id


def round_json(row: Any) -> dict[str, Any]:
    out = {k: getattr(row, k) for k in _ROUND_FIELDS}
    out["state_name"] = STATE_NAMES[RoundState(row.state)]
    return out


@router.get("/rounds", response_model=Page[RoundSummary])
async def list_rounds(
    ctx: Context, principal: Reader,
    team_id: Annotated[StorableStr | None, Query(max_length=64, json_schema_extra={"pattern": NO_NUL})] = None,
    route_id: Annotated[StorableStr | None, Query(max_length=100, json_schema_extra={"pattern": NO_NUL})] = None,
    night: Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                                       description="the local date (YYYY-MM-DD) the night's window starts on")] = None,
    area: Annotated[StorableStr | None, Query(max_length=200, json_schema_extra={"pattern": NO_NUL})] = None,
    limit: Limit = 200,
    after: After = None,
) -> Page[RoundSummary]:
    """Rounds per team / route / night, each with its state and how many of its checkpoints were scanned."""
    team = _visible_team(principal, team_id)
    try:
        night_date = date.fromisoformat(night) if night is not None else None
    except ValueError:  # e.g. 2026-02-30: no night starts on a day that does not exist
        night_date = None
    async with ctx.runtime.connection() as conn:
        scope = await areas_for(conn, principal, area, field="area")  # an area outside the scope: 403 first
        if night is not None and night_date is None:
            return Page[RoundSummary](items=[], next_after=None)
        found = await rounds.list_rounds(conn, team_id=team, route_id=route_id, night=night_date, area=scope,
                                         limit=limit, after=after)
    items = [RoundSummary(**round_json(r), expected_checkpoints=r.expected_checkpoints,
                          scanned_checkpoints=r.scanned_checkpoints) for r in found]
    return page_of(items, limit, lambda r: r.id)


@router.get("/rounds/{round_id}", responses=error_responses(404))
async def get_round(round_id: StorableStr, ctx: Context, principal: Reader) -> dict[str, Any]:
    """A round with its checkpoints (in route order; first scan by device time, missed or not), its scans and,
    where anti-fraud flags are recorded, the flags of its scans."""
    # another team's (or, for a scoped supervisor, another area's) round is not confirmed to exist
    team = principal.team_id if principal.role is Role.PATROL_DEVICE else None
    async with ctx.runtime.connection() as conn:
        # a scoped supervisor's place and everything beneath it, as for the list (the round keeps its area's code)
        scope = await areas_for(conn, principal, None, field="area")
        detail = await rounds.round_detail(conn, round_id, team_id=team, areas=scope)
    row, checkpoints, flags = detail.round, detail.checkpoints, detail.flags
    out = jsonable_encoder(round_json(row))
    out["checkpoints"] = jsonable_encoder([{
        "checkpoint_id": c.checkpoint_id, "name": c.name, "position": c.position,
        "first_scan_at": c.first_scan_at, "missed": c.first_scan_at is None and row.closed,
    } for c in checkpoints])
    if row.ordered:
        # an ordered route's round says whether its checkpoints were first scanned in route order
        times = [c.first_scan_at for c in checkpoints if c.first_scan_at is not None]
        out["in_order"] = times == sorted(times)
    out["scans"] = jsonable_encoder([{
        "scan_id": s.scan_id, "member_id": s.member_id, "checkpoint_id": s.checkpoint_id,
        "device_time": s.device_time, "received_at": s.received_at, "within_radius": s.within_radius,
        **({"flags": flags.get(s.scan_id, [])} if flags is not None else {}),
    } for s in detail.scans])
    return out


@router.get("/compliance")
async def compliance(
    ctx: Context, principal: Overseer,
    since: Annotated[datetime, Query(description="period start (ISO 8601 with offset)")],
    until: Annotated[datetime, Query(description="period end, exclusive")],
    team_id: Annotated[StorableStr | None, Query(max_length=64, json_schema_extra={"pattern": NO_NUL})] = None,
    area: Annotated[StorableStr | None, Query(max_length=200, json_schema_extra={"pattern": NO_NUL})] = None,
) -> dict[str, Any]:
    """Per team and area, and per township (its villages' and grids' areas rolled up by the directory): scanned
    checkpoints ÷ expected over the judged planned rounds that started in [since, until) (none when until is not
    after since). Voluntary scans (outside any plan) are not counted."""
    if since.utcoffset() is None or until.utcoffset() is None:
        raise ApiError(422, "since 与 until 须带时区 (since and until need a UTC offset)", field="since")
    async with ctx.runtime.connection() as conn:
        scope = await areas_for(conn, principal, area, field="area")
        rows = await compliance_query.compliance(conn, since=since, until=until, team_id=team_id, area=scope)
        townships = await compliance_query.by_township(conn, rows)
    return {"since": since.isoformat(), "until": until.isoformat(), "teams": rows, "townships": townships}
