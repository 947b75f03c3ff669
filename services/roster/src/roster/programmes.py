"""Rotation programmes (轮值轮训) at city or township level: registering one. One transaction per call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import asyncpg

from roster.domain.periods import ProgrammeIn
from roster.store import periods as store


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


async def register(conn: asyncpg.Connection, programme: ProgrammeIn, now: datetime) -> Outcome:
    if await store.insert_programme(conn, programme, now):
        return Outcome.CREATED
    existing = await store.get_programme(conn, programme.programme_id)
    same = existing is not None and ProgrammeIn(**dict(existing)) == programme
    return Outcome.UNCHANGED if same else Outcome.CONFLICT
