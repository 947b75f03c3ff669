"""The record: tonight's coverage computed from patrol's PostgreSQL tables, with the definitions the stream uses
(``coverage.py``). The live view must equal this once the stream has caught up; the tests hold it to that.

Routes count in their current version (``routes.current_version``: the version last published); scans by
device time inside the night's bounds (``night.night_bounds``); rounds by their expected start inside them,
late when ``patrol.round-not-started`` was raised and no scan started the round. The SQL is
``patrol.store.coverage``.

``seed`` reads the same tables in the stream's own shapes (``reading.Seed``): the state a live view rebuilt after a
broker loss starts from.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from patrol.live.coverage import Coverage
from patrol.live.night import NIGHT_TURNS_AT, night_bounds, night_of
from patrol.live.reading import Seed
from patrol.store import coverage as store
from patrol.store import live_seed
from pingan_shared.logs import get_logger
from pingan_shared.messaging.broker_loss import latest_loss

log = get_logger(__name__)

Connect = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


async def recorded_coverage(conn: asyncpg.Connection, night: date, zone: ZoneInfo, *,
                            route: str | None = None, township: str | None = None) -> Coverage:
    start, end = night_bounds(night, zone)
    routes = await store.route_coverage(conn, start, end, route=route, township=township)
    townships = await store.township_coverage(conn, start, end, route=route, township=township)
    # sorted here as coverage.compute sorts (code points; the database's collation may order Chinese otherwise)
    routes.sort(key=lambda r: r.route_id)
    townships.sort(key=lambda t: (t.township is None, t.township or ""))
    return Coverage(routes=routes, townships=townships)


async def seed(conn: asyncpg.Connection, now: datetime, zone: ZoneInfo, *, keep_nights: int) -> Seed:
    """The record's state of the nights the stream keeps (tonight by ``now`` and the ``keep_nights`` - 1 before),
    and every route's current version: what the live view starts from after the broker lost the stream's topics."""
    since, _ = night_bounds(night_of(now, zone) - timedelta(days=keep_nights - 1), zone)
    turn = timedelta(hours=NIGHT_TURNS_AT.hour, minutes=NIGHT_TURNS_AT.minute)
    return Seed(routes=await live_seed.routes(conn), visits=await live_seed.visits(conn, since, zone.key, turn),
                rounds=await live_seed.rounds(conn, since, zone.key, turn))


class RecordSeed:
    """The record's state the live view joins after a broker loss: taken when patrol's relay has recorded a loss
    (``broker_losses``) newer than the one it was last taken for, kept across the stream app's rebuilds. None until
    a loss: then the view is the stream's alone."""

    def __init__(self, connection: Connect | None, zone: ZoneInfo, *, keep_nights: int) -> None:
        self._connection = connection
        self._zone = zone
        self._keep_nights = keep_nights
        self.seed: Seed | None = None
        self.loss = 0  # the loss the seed was taken for

    async def look(self, now: datetime) -> bool:
        """``refresh``, a database away logged and left to the next look."""
        try:
            return await self.refresh(now)
        except Exception as exc:
            log.warning("live coverage could not look for a broker loss", error=repr(exc))
            return False

    async def refresh(self, now: datetime) -> bool:
        """Take the seed again if a newer loss was recorded; True when it did."""
        if self._connection is None:
            return False
        async with self._connection() as conn:
            latest = await latest_loss(conn)
            if latest <= self.loss:
                return False
            taken = await seed(conn, now, self._zone, keep_nights=self._keep_nights)
        self.seed, self.loss = taken, latest
        log.warning("live coverage rebuilt from the record after a broker loss", loss=latest,
                    routes=len(taken.routes), nights=len(taken.visits))
        return True
