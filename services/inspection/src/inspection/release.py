"""Release at the covert phase's end (filled in below)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from inspection.context import InspectionContext


async def release_cycle(conn: asyncpg.Connection, ctx: InspectionContext, cycle: asyncpg.Record, *,
                        now: datetime) -> None:
    raise NotImplementedError
