"""Anti-fraud flags (``GET /v1/flags``): per scan, member or team over a period, for organisers, supervisors and
admins. Patrol devices and members see none: a flag is for the one who judges it, not for the one it is about."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from patrol import flags
from patrol.context import Context
from patrol.scope import areas_for
from pingan_shared.auth import Principal, Role
from pingan_shared.http.paging import Limit, Page, page_of
from pingan_shared.http.security import require_roles
from pingan_shared.inputs import Moment
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["flags"])
Overseer = Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.SUPERVISOR, Role.ADMIN))]
FlagKind = Literal["outside-radius", "impossible-speed", "clock-skew", "two-devices", "repeated-scan",
                   "weaker-method"]
# A flag's number in the order flags were raised: the cursor of this list.
SeqAfter = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="next_after of the previous page")]


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


@router.get("/flags", response_model=Page[ScanFlag])
async def list_flags(
    ctx: Context, principal: Overseer,
    team_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    area: Annotated[StorableStr | None, Query(max_length=200, description=(
        "flags of scans counted in a round in this area (镇街) or made at a checkpoint there; a supervisor "
        "with a scope sees only its own"))] = None,
    member_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    scan_id: Annotated[StorableStr | None, Query(max_length=100)] = None,
    kind: FlagKind | None = None,
    since: Annotated[Moment | None, Query(description="scanned at or after (corrected time)")] = None,
    until: Annotated[Moment | None, Query(description="scanned before (corrected time)")] = None,
    limit: Limit = 200,
    after: SeqAfter = None,
) -> Page[ScanFlag]:
    """Flags in the order they were raised. A scan is (team_id, scan_id)."""
    async with ctx.runtime.connection() as conn:
        scope = await areas_for(conn, principal, area, field="area")
        found = await flags.list_flags(conn, team_id=team_id, member_id=member_id, scan_id=scan_id, kind=kind,
                                       since=since, until=until, area=scope, limit=limit, after=after)
    items = [ScanFlag.model_validate(dataclasses.asdict(f)) for f in found]
    return page_of(items, limit, lambda f: f.seq)
