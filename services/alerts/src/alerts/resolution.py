"""Closing an alert: by its source's resolve signal or by a person. No step fires after it (its timer is
cancelled under the alert's lock, and a timer that fires anyway finds it resolved); the targets of the step
reached are told it is over."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from alerts import escalation, timeline
from alerts.context import AlertsContext
from alerts.store import alerts as store
from pingan_shared.events.alert_contracts import AlertResolvedV1


async def resolve(conn: asyncpg.Connection, ctx: AlertsContext, row: asyncpg.Record, *, by: str | None, reason: str,
                  now: datetime) -> asyncpg.Record:
    """Resolve a locked, unresolved alert."""
    assert row["status"] != "resolved"
    row = await store.update(conn, row["id"], status="resolved", resolved_at=now, resolved_by=by,
                             resolve_reason=reason, next_escalation_at=None, next_reminder_at=None, updated_at=now)
    await escalation.arm(conn, row)
    await timeline.record(conn, row["id"], "resolved", now, {"by": by, "reason": reason})
    await escalation.publish(conn, ctx, row, [AlertResolvedV1(**escalation.lifecycle(row, now), by=by, reason=reason)])
    position, step = escalation.position_of(row), escalation.current_step(row)
    if position is not None and step is not None:
        await escalation.notify(conn, row, event="resolved", position=position, step=step, targets=step.targets,
                                now=now)
    return row
