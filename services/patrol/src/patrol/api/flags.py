"""Anti-fraud flags (``GET /v1/flags``): per scan, member or team over a period, for organisers, supervisors and
admins. Patrol devices and members see none: a flag is for the one who judges it, not for the one it is about."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from patrol import store_flags
from patrol.context import Context
from patrol.domain.hazards import DateTimeText
from pingan_shared.auth import Principal, Role
from pingan_shared.http.security import require_roles, scoped_area
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["flags"])
Overseer = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.SUPERVISOR, Role.ADMIN))]
FlagKind = Literal["outside-radius", "impossible-speed", "clock-skew", "two-devices", "repeated-scan",
                   "weaker-method"]


class ScanFlag(BaseModel):
    seq: int = Field(description="the order flags were raised in")
    team_id: str
    scan_id: str
    kind: FlagKind
    member_id: str
    checkpoint_id: str
    device_id: str | None
    scanned_at: datetime
    summary: str
    detail: dict[str, Any]
    flagged_at: datetime


class FlagPage(BaseModel):
    flags: list[ScanFlag]
    next_after: int | None


@router.get("/flags", response_model=FlagPage)
async def list_flags(
    ctx: Context, principal: Overseer,
    team_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    area: Annotated[StorableStr | None, Query(max_length=200, description=(
        "flags of scans counted in a round in this area (镇街) or made at a checkpoint there; a supervisor "
        "with a scope sees only its own"))] = None,
    member_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    scan_id: Annotated[StorableStr | None, Query(max_length=100)] = None,
    kind: FlagKind | None = None,
    since: Annotated[DateTimeText | None, Query(description="scanned at or after (corrected time)")] = None,
    until: Annotated[DateTimeText | None, Query(description="scanned before (corrected time)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="next_after of the previous page")] = None,
) -> dict[str, Any]:
    """Flags in the order they were raised. A scan is (team_id, scan_id)."""
    query = store_flags.FlagQuery(team_id=team_id, member_id=member_id, scan_id=scan_id, kind=kind, since=since,
                                  until=until, area=scoped_area(principal, area, field="area"))
    async with ctx.runtime.connection() as conn:
        rows = await store_flags.list_flags(conn, query, limit=limit, after=after)
    next_after = rows[-1]["seq"] if len(rows) == limit else None
    return {"flags": rows, "next_after": next_after}
