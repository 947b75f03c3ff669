"""Handoff reminders before a shift starts: one durable timer per published shift (kind ``roster.handoff``, key =
shift id) fires ``ROSTER_HANDOFF_REMINDER_MINUTES`` before its start and leaves a notice for each member on it,
naming the duty, the place and the crew they hand over with (GET /v1/me/notices).

A member does not poll that, so the same reminder also goes out, in the same transaction, as an alert signal (kind
``roster.handoff-due``, severity info, dedup key ``roster:shift:<id>:handoff``, the notice's text, the duty's place)
addressed to the members by their subjects (``people``: a member's id is its token's subject, as at /v1/me): the
alerts service's built-in ladder of that kind delivers it once to each member's contact ``person:<member id>``
(inbox, e-mail, webhook), climbing nowhere. A reminder that fires again (re-armed when a member joined) sends the
trigger again with the whole crew: alerts tells only the people its open alert did not address yet, and the
notices table keeps one notice per member, so nobody gets two. Only before the shift starts: a reminder that
fires after (the service was down across the start) leaves the notice but tells no phone.

Nothing may linger once the duty began: the trigger arms a second timer (kind ``roster.handoff-over``) at the
shift's start, which sends the resolve; a shift cancelled before that sends it at once instead (``on_cancelled``).
The timer is the record of a resolve still owed: it fires once, or is cancelled once, never both (a cancel waits
for a firing that holds its row and then finds it fired)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pingan_shared.directory.doors import signal_place
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.timers import cancel, schedule, schedule_many
from roster import places
from roster.context import RosterContext
from roster.domain.notices import Notice
from roster.store import members as member_store
from roster.store import notices as notice_store
from roster.store import shifts as shift_store

HANDOFF = "roster.handoff"
HANDOFF_OVER = "roster.handoff-over"
HANDOFF_DUE_KIND = "roster.handoff-due"


def handoff_key(shift_id: str) -> str:
    return f"roster:shift:{shift_id}:handoff"


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


def reminder_text(shift: Any, names: list[str], zone: Any, *, area_name: str | None = None) -> str:
    """The notice a member reads: the place by its name (``area_name``, from the directory) where it has one."""
    start = shift["starts_at"].astimezone(zone)
    area = area_name or shift["area"]
    where = "，".join(x for x in (area, f"路线{shift['route_id']}" if shift["route_id"] else None) if x)
    crew = "、".join(names)
    return (f"交接班提醒：{start.month}月{start.day}日{start.strftime('%H:%M')}开始{shift['title']}"
            f"{'（' + where + '）' if where else ''}；同班：{crew}")


async def remind(conn: asyncpg.Connection, ctx: RosterContext, shift_id: str) -> None:
    """The reminder's timer fired (``roster.timers``): a notice for each member on the shift if it still happens,
    and before its start the alert signal addressed to them, with the timer that resolves it at the start."""
    shift = await shift_store.get_shift(conn, shift_id)
    if shift is None or shift["status"] != "published":
        return
    members = (await shift_store.assignees(conn, [shift_id]))[shift_id]
    names = await member_store.member_names(conn, members)
    area_name = (await places.names(conn, [shift["area"]])).get(shift["area"] or "")
    text = reminder_text(shift, [names.get(m, m) for m in members], ctx.zone, area_name=area_name)
    now = ctx.now()
    await notice_store.leave(conn, members, shift_id, "handoff", text, now)
    if members and now < shift["starts_at"]:
        await enqueue(conn, [await _signal(conn, ctx, shift, SignalAction.TRIGGER, text, members, now)])
        await schedule(conn, HANDOFF_OVER, shift_id, shift["starts_at"])


async def over(conn: asyncpg.Connection, ctx: RosterContext, shift_id: str) -> None:
    """The shift's start (``roster.timers``): its reminder has done its work; the alert resolves (it tells nobody)."""
    shift = await shift_store.get_shift(conn, shift_id)
    if shift is not None:
        summary = f"{shift['title']}已开始，交接班提醒结束"
        await enqueue(conn, [await _signal(conn, ctx, shift, SignalAction.RESOLVE, summary, [], ctx.now())])


async def on_cancelled(conn: asyncpg.Connection, ctx: RosterContext, shift_ids: Sequence[str]) -> None:
    """Shifts roster cancelled: no reminder is due any more, and a reminder already out resolves now rather than
    at a start that will not come."""
    for shift_id in shift_ids:
        await cancel(conn, HANDOFF, shift_id)
        if await cancel(conn, HANDOFF_OVER, shift_id):
            shift = await shift_store.get_shift(conn, shift_id)
            assert shift is not None  # the caller cancelled it in this transaction
            await enqueue(conn, [await _signal(conn, ctx, shift, SignalAction.RESOLVE,
                                               f"{shift['title']}已取消，交接班提醒撤回", [], ctx.now())])


async def _signal(conn: asyncpg.Connection, ctx: RosterContext, shift: Any, action: SignalAction, summary: str,
                  people: list[str], at: datetime) -> tuple[str, Envelope]:
    payload = AlertSignalV1(
        action=action, dedup_key=handoff_key(shift["shift_id"]), kind=HANDOFF_DUE_KIND, severity=Severity.INFO,
        area=str(shift["area"])[:200] if shift["area"] else None,
        **(await signal_place(conn, area=shift["area"])).fields(), summary=summary[:500], people=people,
        source=SourceLink(service="roster", entity_type="shift", entity_id=shift["shift_id"]), occurred_at=at)
    return ctx.events.make(ALERT_SIGNAL, payload, key=payload.dedup_key)


async def notices(ctx: RosterContext, member_id: str, *, after: int | None, limit: int) -> list[Notice]:
    """A member's notices (handoff reminders), oldest first, after the notice id ``after``."""
    async with ctx.runtime.connection() as conn:
        return await notice_store.of_member(conn, member_id, after=after, limit=limit)
