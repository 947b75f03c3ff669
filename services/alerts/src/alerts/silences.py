"""Silences and maintenance windows (e.g. a typhoon day for one township, 台风停训).

While a silence is active the alerts it matches go on climbing (their state, timeline and lifecycle events are
the record), but their notifications are held (``escalation.notify``). At its end — a durable timer
(``silence-end``, key the silence id), or an early end over HTTP — every alert it held that is still open and
that no other active silence holds gets the notification of the step it has reached: what is still open is
released, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
from fastapi.encoders import jsonable_encoder

from alerts import escalation
from alerts.context import AlertsContext
from alerts.domain.access import within_scope
from alerts.domain.alert import step_event
from alerts.places import scope_code
from alerts.store import alerts as alert_store
from alerts.store import silences as store
from alerts.store import timeline
from pingan_shared.auth import Principal, Role
from pingan_shared.directory import store as directory
from pingan_shared.directory.doors import place_code
from pingan_shared.refused import Invalid, NotFound, Refused
from pingan_shared.timers import Timer, schedule

SILENCE_END = "silence-end"


class SilenceNotFound(NotFound):
    """No such silence, or one outside the caller's scope: the same answer (404 naming ``silence_id``)."""

    def __init__(self) -> None:
        super().__init__("静默不存在", "silence_id")


def silence_view(row: Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = jsonable_encoder({k: row[k] for k in (
        "id", "kind", "unit_id", "area", "place", "starts_at", "ends_at", "reason", "created_by", "created_at",
        "ended_early_at", "released_at")})
    return view


async def create(ctx: AlertsContext, principal: Principal, *, kind: str | None, unit_id: str | None,
                 area: str | None, place: str | None, starts_at: datetime, ends_at: datetime, reason: str,
                 by: str) -> dict[str, Any]:
    """A silence from ``starts_at`` to ``ends_at`` (which must be later, and not past). ``place`` (a code or a
    unique name of the directory; 422 when it names none) holds every alert in that place or beneath it. A scoped
    supervisor's must name a place within its scope, or its own unit or area (403 otherwise)."""
    if ends_at <= starts_at:
        raise Invalid("结束时间须晚于开始时间（ends_at must be after starts_at）", "body.ends_at")
    now = ctx.now()
    if ends_at <= now:
        raise Invalid("结束时间已过（ends_at is in the past）", "body.ends_at")
    async with ctx.runtime.connection() as conn, conn.transaction():
        place = await place_code(conn, place, field="body.place")
        if not await _within_scope(conn, principal, await scope_code(conn, principal), unit_id=unit_id, area=area,
                                   place=place):
            raise Refused(403, f"只能静默本辖区（{principal.scope}）的告警：请填写本辖区的 place（或 unit_id、area）"
                               f" (a scoped supervisor silences within its scope only)",
                          "body.place" if place else "body.unit_id")
        row = await store.insert(conn, silence_id=f"sil-{uuid.uuid4().hex[:12]}", kind=kind, unit_id=unit_id,
                                 area=area, place=place, starts_at=starts_at, ends_at=ends_at, reason=reason, by=by,
                                 at=now)
        await schedule(conn, SILENCE_END, row["id"], ends_at)
    return silence_view(row)


async def _within_scope(conn: asyncpg.Connection, principal: Principal, scope: str | None, *, unit_id: str | None,
                        area: str | None, place: str | None) -> bool:
    """``within_scope`` for a principal whose scope's code is ``scope`` (``places.scope_code``, read once per
    request); a place's lineage is read only where the answer depends on it (a scoped supervisor's)."""
    scoped = principal.role is Role.SUPERVISOR and principal.scope is not None
    lineage = [e.code for e in await directory.lineage(conn, place)] if place and scoped else []
    return within_scope(principal, unit_id=unit_id, area=area, place=place, scope_code=scope,
                        place_lineage=lineage)


async def listing(ctx: AlertsContext, principal: Principal, *, current: bool) -> list[dict[str, Any]]:
    """Silences (``current``: only those not yet over); a scoped supervisor sees those of its scope."""
    async with ctx.runtime.connection() as conn:
        rows = await store.listing(conn, current_only=current, now=ctx.now())
        scope = await scope_code(conn, principal)
        return [silence_view(r) for r in rows
                if await _within_scope(conn, principal, scope, unit_id=r["unit_id"], area=r["area"],
                                       place=r["place"])]


async def end_early(ctx: AlertsContext, principal: Principal, silence_id: str) -> dict[str, Any]:
    """End a silence now: what it held and is still open is notified at once."""
    async with ctx.runtime.connection() as conn:
        async with conn.transaction():
            row = await store.get(conn, silence_id, for_update=True)
            if row is None or not await _within_scope(conn, principal, await scope_code(conn, principal),
                                                      unit_id=row["unit_id"], area=row["area"], place=row["place"]):
                raise SilenceNotFound()
            released = 0
            if row["released_at"] is None:
                released = await release(conn, row, now=ctx.now(), early=True)
        ended = await store.get(conn, silence_id)
    assert ended is not None
    return {**silence_view(ended), "released_alerts": released}


async def release(conn: asyncpg.Connection, silence: asyncpg.Record, *, now: datetime, early: bool) -> int:
    """End a silence and send what it held that is still open; returns how many alerts were released."""
    await store.end(conn, silence["id"], at=now, early=early)
    released = 0
    for alert_id in await alert_store.held(conn, kind=silence["kind"], unit_id=silence["unit_id"],
                                           area=silence["area"], place=silence["place"]):
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
