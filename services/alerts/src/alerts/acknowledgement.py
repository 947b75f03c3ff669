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

from alerts import escalation, timeline
from alerts.context import AlertsContext
from alerts.domain.access import identities
from alerts.escalation import EscalationRefused
from alerts.store import alerts as store
from pingan_shared.auth import Principal
from pingan_shared.events.alert_contracts import AlertAcknowledgedV1


async def acknowledge(conn: asyncpg.Connection, ctx: AlertsContext, row: asyncpg.Record, principal: Principal, *,
                      now: datetime) -> asyncpg.Record:
    """Acknowledge a locked alert the principal may see."""
    if row["status"] == "resolved":
        raise EscalationRefused("告警已关闭（the alert is resolved）", field="status")
    by = f"{principal.role.value}:{principal.subject}"
    position, step = escalation.position_of(row), escalation.current_step(row)
    if position is not None and step is not None and step.requires_all_acks:
        mine = [t for t in step.targets if t in identities(principal)]
        if not mine:
            raise EscalationRefused(
                f"本级（{step.label}）须由通知对象逐一确认，您不在其中（acknowledged by its targets only: "
                f"{', '.join(step.targets)}）", field="Authorization")
        added = await store.add_acks(conn, row["id"], step=position.step, loop=position.loop, targets=mine, by=by,
                                     at=now)
        acked = await store.acks(conn, row["id"], step=position.step, loop=position.loop)
        waiting = [t for t in step.targets if t not in acked]
        if added:
            await timeline.record(conn, row["id"], "acknowledged", now, {
                "by": by, "targets": added, "step": position.step, "loop": position.loop, "waiting_for": waiting})
        if waiting or row["status"] == "acknowledged":
            return row
        # every target acknowledged: the summons is answered, the climb stops
        return await _acknowledged(conn, ctx, row, by=by, next_escalation_at=None, now=now)
    if row["status"] == "acknowledged":
        return row  # a repeated acknowledgement
    if position is not None:
        own = sorted(identities(principal))
        await store.add_acks(conn, row["id"], step=position.step, loop=position.loop, targets=own[:1], by=by, at=now)
    await timeline.record(conn, row["id"], "acknowledged", now, {
        "by": by, "step": row["current_step"], "loop": row["loop"],
        "expires_at": (now + step.ack_timeout).isoformat() if step and step.ack_timeout else None})
    resume_at = now + step.ack_timeout if step is not None and step.ack_timeout is not None else None
    return await _acknowledged(conn, ctx, row, by=by, next_escalation_at=resume_at, now=now)


async def _acknowledged(conn: asyncpg.Connection, ctx: AlertsContext, row: asyncpg.Record, *, by: str,
                        next_escalation_at: datetime | None, now: datetime) -> asyncpg.Record:
    row = await store.update(conn, row["id"], status="acknowledged", acknowledged_at=now, acknowledged_by=by,
                             next_escalation_at=next_escalation_at, next_reminder_at=None, updated_at=now)
    await escalation.arm(conn, row)
    await escalation.publish(conn, ctx, row, [AlertAcknowledgedV1(**escalation.lifecycle(row, now), by=by)])
    return row
