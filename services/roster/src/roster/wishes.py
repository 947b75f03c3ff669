"""Members' requests for or against a duty on a day (a soft rule the next solve weighs). One transaction per call."""

from __future__ import annotations

from datetime import date

import asyncpg

from pingan_shared import refused
from roster import visibility
from roster.store import periods as store


class NotFound(refused.NotFound):
    """No such period (for a member: none it serves in)."""

    def __init__(self) -> None:
        super().__init__(visibility.NO_SUCH_PERIOD, "period_id")


class Refused(refused.Conflict):
    """The wish does not fit the period (409): ``field`` of the body says what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason, f"body.{field}")


async def add(conn: asyncpg.Connection, period_id: str, member_id: str | None, day: date, duty_id: str | None,
              wants: bool, weight: int, *, viewer: str | None = None) -> int:
    """The wish's id. A member (``viewer``) asks only in a period it serves in: any other is not found
    (``roster.visibility``), before its cohort or dates are judged; an organiser names the member."""
    if member_id is None:
        raise Refused("member_id", "请指定队员 (name member_id)")
    period = await store.get_period(conn, period_id)
    if period is None or not await visibility.serves_in(conn, period_id, viewer):
        raise NotFound()
    if member_id not in await store.cohort(conn, period_id):
        raise Refused("member_id", "该队员不在本期名单中 (not in this period's cohort)")
    if not period["starts_on"] <= day <= period["ends_on"]:
        raise Refused("day", "该日不在本期内 (the day is outside the period)")
    if duty_id is not None and await store.get_duty(conn, period_id, duty_id) is None:
        raise Refused("duty_id", "本期没有该勤务 (no such duty in this period)")
    return await store.insert_wish(conn, period_id, member_id, day, duty_id, wants, weight)
