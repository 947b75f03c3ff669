"""Handoff reminders before a shift starts: one durable timer per published shift (kind ``roster.handoff``, key =
shift id) fires ``ROSTER_HANDOFF_REMINDER_MINUTES`` before its start and leaves a notice for each member on it,
naming the duty, the place and the crew they hand over with. Notices, not events: they are for the member
(GET /v1/me/notices), and nothing else in the system acts on them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import asyncpg

from pingan_shared.timers import schedule_many
from roster.context import RosterContext
from roster.domain.notices import Notice
from roster.store import members as member_store
from roster.store import notices as notice_store
from roster.store import shifts as shift_store

HANDOFF = "roster.handoff"


async def arm(conn: asyncpg.Connection, ctx: RosterContext, shift_ids: Iterable[str]) -> None:
    """(Re-)arm the reminders of published shifts that start in the future, inside the caller's transaction. A
    reminder that fired already is armed again so a member who joined since gets theirs (nobody gets two)."""
    ids = sorted(set(shift_ids))
    if not ids:
        return
    rows = await shift_store.starts(conn, ids)
    now = ctx.now()
    lead = timedelta(minutes=ctx.settings.handoff_reminder_minutes)
    due = [(HANDOFF, r["shift_id"], max(now, r["starts_at"] - lead), {"shift_id": r["shift_id"]})
           for r in rows if r["status"] == "published" and r["starts_at"] > now]
    await schedule_many(conn, due)


def reminder_text(shift: Any, names: list[str], zone: Any) -> str:
    start = shift["starts_at"].astimezone(zone)
    where = "，".join(x for x in (shift["area"], f"路线{shift['route_id']}" if shift["route_id"] else None) if x)
    crew = "、".join(names)
    return (f"交接班提醒：{start.month}月{start.day}日{start.strftime('%H:%M')}开始{shift['title']}"
            f"{'（' + where + '）' if where else ''}；同班：{crew}")


async def remind(conn: asyncpg.Connection, ctx: RosterContext, shift_id: str) -> None:
    """The reminder's timer fired (``roster.timers``): a notice for each member on the shift if it still happens."""
    shift = await shift_store.get_shift(conn, shift_id)
    if shift is None or shift["status"] != "published":
        return
    members = (await shift_store.assignees(conn, [shift_id]))[shift_id]
    names = await member_store.member_names(conn, members)
    text = reminder_text(shift, [names.get(m, m) for m in members], ctx.zone)
    await notice_store.leave(conn, members, shift_id, "handoff", text, ctx.now())


async def notices(ctx: RosterContext, member_id: str, *, after: int | None, limit: int) -> list[Notice]:
    """A member's notices (handoff reminders), oldest first, after the notice id ``after``."""
    async with ctx.runtime.connection() as conn:
        return await notice_store.of_member(conn, member_id, after=after, limit=limit)
