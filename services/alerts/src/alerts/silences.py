"""Silences and maintenance windows (e.g. a typhoon day for one township, 台风停训).

While a silence is active the alerts it matches go on climbing (their state, timeline and lifecycle events are
the record), but their notifications are held (``escalation.notify``). At its end — a durable timer
(``silence-end``, key the silence id), or an early end over HTTP — every alert it held that is still open and
that no other active silence holds gets the notification of the step it has reached: what is still open is
released, once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from alerts import escalation
from alerts.context import AlertsContext
from alerts.domain.alert import step_event
from alerts.store import alerts as alert_store
from alerts.store import silences as store
from alerts.store import timeline
from pingan_shared.timers import Timer, schedule

SILENCE_END = "silence-end"


async def create(conn: asyncpg.Connection, *, kind: str | None, unit_id: str | None, area: str | None,
                 starts_at: datetime, ends_at: datetime, reason: str, by: str, now: datetime) -> asyncpg.Record:
    row = await store.insert(conn, silence_id=f"sil-{uuid.uuid4().hex[:12]}", kind=kind, unit_id=unit_id, area=area,
                             starts_at=starts_at, ends_at=ends_at, reason=reason, by=by, at=now)
    await schedule(conn, SILENCE_END, row["id"], ends_at)
    return row


async def release(conn: asyncpg.Connection, silence: asyncpg.Record, *, now: datetime, early: bool) -> int:
    """End a silence and send what it held that is still open; returns how many alerts were released."""
    await store.end(conn, silence["id"], at=now, early=early)
    released = 0
    for alert_id in await alert_store.held(conn, kind=silence["kind"], unit_id=silence["unit_id"],
                                           area=silence["area"]):
        alert = await alert_store.lock(conn, alert_id)
        if alert is None or alert.resolved or alert.held_since is None:
            continue
        if await escalation.holding_silences(conn, alert, now):
            continue  # another silence still holds it: released at that one's end
        alert = await alert_store.save(conn, alert.released(now))
        await timeline.record(conn, alert.id, "released", now, {"silence": silence["id"], "early": early})
        position, step = alert.position, alert.step
        if position is not None and step is not None:
            targets = alert.unanswered(
                await alert_store.acks(conn, alert.id, step=position.step, loop=position.loop)
                if step.requires_all_acks else {})
            await escalation.send(conn, alert, event=step_event(position), position=position, step=step,
                                  targets=targets, now=now)
        released += 1
    return released


async def on_silence_end(ctx: AlertsContext, conn: asyncpg.Connection, timer: Timer) -> None:
    silence = await store.get(conn, timer.key, for_update=True)
    if silence is None or silence["released_at"] is not None:
        return
    now = ctx.now()
    if now < silence["ends_at"]:
        await schedule(conn, SILENCE_END, silence["id"], silence["ends_at"])
        return
    await release(conn, silence, now=now, early=False)
