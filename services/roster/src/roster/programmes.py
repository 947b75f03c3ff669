"""Rotation programmes (轮值轮训) at city or township level: registering one, listing them. One transaction per
call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg

from pingan_shared.refused import Conflict
from roster.context import RosterContext
from roster.domain.periods import ProgrammeIn
from roster.store import periods as store


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"


async def register(conn: asyncpg.Connection, programme: ProgrammeIn, now: datetime) -> Outcome:
    """CREATED, or UNCHANGED for the same programme again; another with this id is refused."""
    if await store.insert_programme(conn, programme, now):
        return Outcome.CREATED
    existing = await store.get_programme(conn, programme.programme_id)
    if existing is not None and ProgrammeIn(**dict(existing)) == programme:
        return Outcome.UNCHANGED
    raise Conflict("该编号已用于内容不同的轮训项目 (a different programme has this id)", "body.programme_id")


async def list_programmes(ctx: RosterContext, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        return [dict(r) for r in await store.list_programmes(conn, after=after, limit=limit)]
