"""/v1/shifts: the published roster, by period, member, team and date (organisers; a member sees its own)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BeforeValidator

from pingan_shared.auth import Role
from pingan_shared.http.errors import ApiError
from roster import visibility
from roster.api.deps import After, IdQuery, Limit, OrganiserOrMember
from roster.context import Context
from roster.store import shifts as store

router = APIRouter(prefix="/v1", tags=["shifts"])
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]



def shift_json(row: dict[str, Any]) -> dict[str, Any]:
    return row


@router.get("/shifts")
async def list_shifts(
    ctx: Context, who: OrganiserOrMember, limit: Limit = 100, after: After = None,
    period_id: IdQuery = None, member_id: IdQuery = None, team_id: IdQuery = None,
    day_from: Annotated[IsoDate | None, Query(description="local date, e.g. 2026-12-01")] = None,
    day_to: Annotated[IsoDate | None, Query()] = None,
    include_unpublished: bool = False,
) -> dict[str, Any]:
    """Shifts with their members. A member token sees only published shifts it is on (asking for another
    member's is refused)."""
    if who.role is Role.MEMBER:
        if member_id is not None and member_id != who.subject:
            raise ApiError(403, "队员只能查看自己的班次 (a member sees only its own shifts)", field="query.member_id")
        member_id, include_unpublished = who.subject, False
    async with ctx.runtime.connection() as conn:
        rows = await store.list_shifts(conn, period_id=period_id, member_id=member_id, team_id=team_id,
                                       day_from=day_from, day_to=day_to, published_only=not include_unpublished,
                                       after=after, limit=limit)
    return {"shifts": rows, "next_after": rows[-1]["shift_id"] if len(rows) == limit else None}


@router.get("/shifts/{shift_id}")
async def get_shift(shift_id: Annotated[str, Path(max_length=200)], ctx: Context,
                    who: OrganiserOrMember) -> dict[str, Any]:
    """A shift with its crew; a member reads only a shift it is on (any other answers as one that does not exist)."""
    async with ctx.runtime.connection() as conn:
        row = await store.get_shift(conn, shift_id)
        members = (await store.assignees(conn, [shift_id]))[shift_id] if row is not None else []
    if row is None or not visibility.sees_crew(visibility.viewer(who), members):
        raise ApiError(404, visibility.NO_SUCH_SHIFT, field="shift_id")
    return dict(row) | {"member_ids": members}
