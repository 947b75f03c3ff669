"""The console's one background loop: expired sessions and old sign-in failures deleted now and then (an expired
session is refused when used anyway; this only keeps the tables small)."""

from __future__ import annotations

import asyncio

from console.signin import Gatekeeper
from pingan_shared.db.errors import CONNECTION_LOST, DatabaseUnavailable
from pingan_shared.logs import get_logger

log = get_logger(__name__)

INTERVAL_SECONDS = 600.0


async def run(gate: Gatekeeper, every_seconds: float = INTERVAL_SECONDS) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            gone = await gate.housekeeping()
        except (DatabaseUnavailable, *CONNECTION_LOST) as exc:
            # the next round tries again; the database's absence is /ready's to tell
            log.warning("console housekeeping skipped: database unavailable", error=repr(exc))
            continue
        if gone:
            log.info("console housekeeping", rows_deleted=gone)
