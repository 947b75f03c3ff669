"""What the HTTP API reads and changes of one alert, for a principal: an alert outside what the principal may see
answers exactly as one that does not exist (``AlertNotFound``, 404 "告警不存在"). Each change locks the alert,
applies one use case (acknowledgement, escalation, resolution) in one transaction, and answers with the alert.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi.encoders import jsonable_encoder

from alerts.context import AlertsContext
from alerts.domain.access import can_see
from alerts.domain.alert import Alert, AlertNotFound
from alerts.domain.kinds import kind_label
from alerts.places import scope_code
from alerts.store import alerts as store
from alerts.store import timeline
from pingan_shared.auth import Principal, Role
from pingan_shared.http.paging import Page, page_of


async def alert_view(conn: asyncpg.Connection, alert: Alert) -> dict[str, Any]:
    """The alert as the API shows it, with the targets a multi-ack step still waits for."""
    step = alert.step
    waiting: list[str] = []
    if step is not None and step.requires_all_acks and not alert.resolved:
        waiting = alert.unanswered(await store.acks(conn, alert.id, step=alert.current_step, loop=alert.loop))
    return jsonable_encoder({
        "id": alert.id, "dedup_key": alert.dedup_key, "kind": alert.kind, "kind_name": kind_label(alert.kind),
        "severity": alert.severity,
        "summary": alert.summary, "unit_id": alert.unit_id, "unit_name": alert.unit_name, "area": alert.area,
        "place": alert.place, "place_name": alert.place_name, "township": alert.township,
        "places": list(alert.places), "source": alert.source,
        "status": alert.status.value, "policy": alert.policy.as_json(), "current_step": alert.current_step,
        "current_label": step.label if step else None, "loop": alert.loop, "step_fired_at": alert.step_fired_at,
        "next_escalation_at": alert.next_escalation_at, "next_reminder_at": alert.next_reminder_at,
        "held": alert.held_since is not None, "waiting_for_acks": waiting, "raised_at": alert.raised_at,
        "acknowledged_at": alert.acknowledged_at, "acknowledged_by": alert.acknowledged_by,
        "resolved_at": alert.resolved_at, "resolved_by": alert.resolved_by, "resolve_reason": alert.resolve_reason,
    })


async def visible(conn: asyncpg.Connection, alert: Alert | None, principal: Principal) -> Alert:
    if alert is None or not can_see(principal, unit_id=alert.unit_id, area=alert.area, places=alert.places,
                                    scope_code=await scope_code(conn, principal)):
        raise AlertNotFound()
    return alert


async def page(ctx: AlertsContext, principal: Principal, *, status: str | None, kind: str | None, limit: int,
               after: str | None) -> Page[dict[str, Any]]:
    """Alerts in id order, ``limit`` at a time after ``after``: a unit's own, a scoped supervisor's scope."""
    unit_id = principal.unit_id if principal.role is Role.UNIT else None
    scope = principal.scope if principal.role is Role.SUPERVISOR else None
    async with ctx.runtime.connection() as conn:
        alerts = await store.page(conn, unit_id=unit_id, scope=scope, scope_code=await scope_code(conn, principal),
                                  status=status, kind=kind, limit=limit, after=after)
        items = [await alert_view(conn, a) for a in alerts]
    return page_of(items, limit, lambda item: str(item["id"]))


async def one(ctx: AlertsContext, principal: Principal, alert_id: str) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        return await alert_view(conn, await visible(conn, await store.get(conn, alert_id), principal))


async def alert_timeline(ctx: AlertsContext, principal: Principal, alert_id: str) -> list[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        await visible(conn, await store.get(conn, alert_id), principal)
        entries: list[dict[str, Any]] = jsonable_encoder(await timeline.read(conn, alert_id))
        return entries


Change = Callable[[asyncpg.Connection, Alert], Awaitable[Alert]]


async def change(ctx: AlertsContext, principal: Principal, alert_id: str, apply: Change) -> dict[str, Any]:
    """Lock the alert, check it is visible, ``apply`` a use case in one transaction, answer with the alert. A
    refusal (``AlertRefused``) rolls the transaction back and is the answer."""
    async with ctx.runtime.connection() as conn:
        async with conn.transaction():
            alert = await apply(conn, await visible(conn, await store.lock(conn, alert_id), principal))
        return await alert_view(conn, alert)
