"""Members' requests for or against a duty on a day (a soft rule the next solve weighs). One transaction per call."""

from __future__ import annotations

from datetime import date

import asyncpg

from roster import visibility
from roster.store import periods as store


class NotFound(Exception):
    pass


class Refused(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


async def add(conn: asyncpg.Connection, period_id: str, member_id: str, day: date, duty_id: str | None,
              wants: bool, weight: int, *, viewer: str | None = None) -> int:
    """The wish's id. A member (``viewer``) asks only in a period it serves in: any other is not found
    (``roster.visibility``), before its cohort or dates are judged."""
    period = await store.get_period(conn, period_id)
    if period is None or not await visibility.serves_in(conn, period_id, viewer):
        raise NotFound(period_id)
    if member_id not in await store.cohort(conn, period_id):
        raise Refused("member_id", "该队员不在本期名单中 (not in this period's cohort)")
    if not period["starts_on"] <= day <= period["ends_on"]:
        raise Refused("day", "该日不在本期内 (the day is outside the period)")
    if duty_id is not None:
        duty = await store.get_duty(conn, duty_id)
        if duty is None or duty["period_id"] != period_id:
            raise Refused("duty_id", "本期没有该勤务 (no such duty in this period)")
    request_id: int = await conn.fetchval(
        "INSERT INTO member_requests (period_id, member_id, day, duty_id, wants, weight)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", period_id, member_id, day, duty_id, wants, weight)
    return request_id
