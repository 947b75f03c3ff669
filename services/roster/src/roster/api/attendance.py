"""roster HTTP API (this issue: attendance read-out for organisers and supervisors)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BeforeValidator

from pingan_shared.auth import Principal, Role
from pingan_shared.http.security import require_roles
from pingan_shared.service import ServiceRuntime
from pingan_shared.text import StorableStr
from roster.attendance import attendance_rows, scan_total

router = APIRouter(prefix="/v1")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: object) -> object:
    # pydantic reads "0" or "1700000000" as a Unix time; a day in a query is only ever YYYY-MM-DD.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value

IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]


def runtime(request: Request) -> ServiceRuntime:
    rt: ServiceRuntime = request.app.state.runtime
    return rt


@router.get("/attendance", tags=["attendance"])
async def get_attendance(
    rt: Annotated[ServiceRuntime, Depends(runtime)],
    _: Annotated[Principal, Depends(require_roles(Role.ORGANISER, Role.SUPERVISOR, Role.ADMIN))],
    day: Annotated[IsoDate | None, Query(description="local date, e.g. 2026-11-22")] = None,
    team_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    member_id: Annotated[StorableStr | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    async with rt.connection() as conn:
        rows = await attendance_rows(conn, day=day, team_id=team_id, member_id=member_id, limit=limit)
        total = await scan_total(conn, day=day, team_id=team_id) if member_id is None else sum(
            r["scan_count"] for r in rows)
    return {"total_scans": total, "attendance": rows}
