"""确认: a person acknowledges an alert, which stops the climb.

A single-ack step is acknowledged by any one person who may see the alert; if the step has an ack timeout the
acknowledgement lapses after it and the climb resumes with the next step (a promise that was not kept). A
multi-ack step (a summons, 约谈) counts each target separately: a person acknowledges for the targets they
answer for (``domain.access.identities``), and the alert is acknowledged only once every target has; until then
the step keeps reminding those who have not (``escalation.remind``). Acknowledging twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from alerts import escalation
from alerts.context import AlertsContext
from alerts.domain.access import identities
from alerts.domain.alert import Alert, Status
from alerts.places import scope_code
from alerts.store import alerts as store
from alerts.store import timeline
from pingan_shared.auth import Principal
from pingan_shared.events.alert_contracts import AlertAcknowledgedV1


async def acknowledge(conn: asyncpg.Connection, ctx: AlertsContext, alert: Alert, principal: Principal, *,
                      now: datetime) -> Alert:
    """Acknowledge a locked alert the principal may see (``AlertRefused`` when its state does not allow it)."""
    by = f"{principal.role.value}:{principal.subject}"
    mine = alert.ack_targets(identities(principal, await scope_code(conn, principal)))
    position = alert.position
    if position is not None and alert.requires_all_acks:
        added = await store.add_acks(conn, alert.id, step=position.step, loop=position.loop, targets=mine, by=by,
                                     at=now)
        waiting = alert.unanswered(await store.acks(conn, alert.id, step=position.step, loop=position.loop))
        if added:
            await timeline.record(conn, alert.id, "acknowledged", now, {
                "by": by, "targets": added, "step": position.step, "loop": position.loop, "waiting_for": waiting})
        if waiting or alert.status is Status.ACKNOWLEDGED:
            return alert
        # every target acknowledged: the summons is answered, the climb stops
        return await _acknowledged(conn, ctx, alert.acknowledged(by, now), by=by, now=now)
    if alert.status is Status.ACKNOWLEDGED:
        return alert  # a repeated acknowledgement
    if position is not None:
        await store.add_acks(conn, alert.id, step=position.step, loop=position.loop, targets=mine, by=by, at=now)
    expires_at = alert.ack_expiry(now)
    await timeline.record(conn, alert.id, "acknowledged", now, {
        "by": by, "step": alert.current_step, "loop": alert.loop,
        "expires_at": expires_at.isoformat() if expires_at else None})
    return await _acknowledged(conn, ctx, alert.acknowledged(by, now), by=by, now=now)


async def _acknowledged(conn: asyncpg.Connection, ctx: AlertsContext, alert: Alert, *, by: str,
                        now: datetime) -> Alert:
    alert = await store.save(conn, alert)
    await escalation.arm(conn, alert)
    await escalation.publish(conn, ctx, alert, [AlertAcknowledgedV1(**escalation.lifecycle(alert, now), by=by)])
    return alert
