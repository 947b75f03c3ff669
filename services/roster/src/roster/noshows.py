"""No-shows: a member on a published shift with no presence by the shift's start + grace.

Each member on a published shift has one durable timer (kind ``roster.presence-check``, armed by
``roster.presence.schedule_checks`` in the publishing transaction). When it fires, in the timer's transaction:
if the shift still happens, the member is still on it and no presence is recorded, the no-show is recorded
once (``shift_presence.no_show_at``) and two events go out through the outbox: ``roster.no-show`` (NoShowV1,
topic roster.attendance, key = shift id) and a trigger alert signal (AlertSignalV1 on roster.alert-signals, dedup key
``roster:shift:<id>:no-show:<member>``). A presence that arrives later sends the resolve signal
(``roster.presence``).

Exactly once: the timer fires once across replicas and restarts (a restart spanning the grace fires it when
the service is back), and the handler itself acts only while ``no_show_at`` is empty, holding the presence row
locked, so a re-armed timer (a shift re-published) never fires a second no-show.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pingan_shared.directory.doors import signal_place
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL, NO_SHOW
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.roster_contracts import NoShowV1
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.timers import Timer, schedule
from roster.context import RosterContext
from roster.domain.attendance import NO_SHOW_KIND, grace_until, no_show_dedup_key, no_show_summary
from roster.store import presence as store

PRESENCE_CHECK = "roster.presence-check"


def grace(ctx: RosterContext) -> timedelta:
    return timedelta(minutes=ctx.settings.no_show_grace_minutes)


async def no_show_signal(
    conn: asyncpg.Connection, ctx: RosterContext, shift: Mapping[str, Any], *, action: SignalAction, at: datetime
) -> tuple[str, Envelope]:
    """The trigger (at the grace) or resolve (at a late presence) signal of one member's no-show alert, with the
    duty's place (its area's directory code) when the directory knows it."""
    where = await signal_place(conn, area=shift["area"])
    payload = AlertSignalV1(
        action=action,
        dedup_key=no_show_dedup_key(shift["shift_id"], shift["member_id"]),
        kind=NO_SHOW_KIND,
        severity=Severity.MEDIUM,
        # the township that supervises the duty: alerts picks the ladder's targets by it, so a route id (which
        # names no township) is never sent in its place; no area → the ladder's city-wide stand-ins
        area=str(shift["area"])[:200] if shift["area"] else None,
        **where.fields(),
        summary=no_show_summary(title=shift["title"], starts_at=shift["starts_at"], zone=ctx.zone,
                                member_name=shift["member_name"], area=where.place_name or shift["area"]),
        source=SourceLink(service="roster", entity_type="shift", entity_id=shift["shift_id"]),
        occurred_at=at,
    )
    return ctx.events.make(ALERT_SIGNAL, payload, key=payload.dedup_key)


async def on_presence_check(ctx: RosterContext, conn: asyncpg.Connection, timer: Timer) -> None:
    shift_id, member_id = timer.payload["shift_id"], timer.payload["member_id"]
    record = await store.presence_for_update(conn, shift_id, member_id)
    if record is None or record["present_at"] is not None or record["no_show_at"] is not None:
        return  # never checked (taken off before), present, or the no-show is already out
    shift = await store.shift_member(conn, shift_id, member_id)
    if shift is None or shift["status"] != "published" or not shift["assigned"]:
        return  # cancelled, or the member was swapped off: schedule_checks cancels these, this is the backstop
    now = ctx.now()
    due = grace_until(shift["starts_at"], grace(ctx))
    if now < due:  # the shift moved later without its checks being moved: wait for the new grace
        await schedule(conn, PRESENCE_CHECK, timer.key, due, timer.payload)
        return
    await store.update_presence(conn, shift_id, member_id, no_show_at=now)
    no_show = NoShowV1(shift_id=shift_id, period_id=shift["period_id"], member_id=member_id,
                       team_id=shift["team_id"], starts_at=shift["starts_at"], grace_until=due)
    await enqueue(conn, [
        ctx.events.make(NO_SHOW, no_show, key=shift_id),
        await no_show_signal(conn, ctx, shift, action=SignalAction.TRIGGER, at=now),
    ])


def check_payload(shift_id: str, member_id: str) -> dict[str, str]:
    return {"shift_id": shift_id, "member_id": member_id}
