"""Closing an alert: by its source's resolve signal or by a person. No step fires after it (its timer is
cancelled under the alert's lock, and a timer that fires anyway finds it resolved); the targets of the step
reached are told it is over, unless that step says its resolution tells nobody (a reminder's:
``Step.tells_resolution``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from alerts import escalation
from alerts.context import AlertsContext
from alerts.domain.alert import Alert
from alerts.store import alerts as store
from alerts.store import timeline
from pingan_shared.events.alert_contracts import AlertResolvedV1


async def resolve(conn: asyncpg.Connection, ctx: AlertsContext, alert: Alert, *, by: str | None, reason: str,
                  now: datetime) -> Alert:
    """Resolve a locked alert (``AlertRefused`` when it is resolved already)."""
    alert = await store.save(conn, alert.resolve(by=by, reason=reason, now=now))
    await escalation.arm(conn, alert)
    await timeline.record(conn, alert.id, "resolved", now, {"by": by, "reason": reason})
    await escalation.publish(conn, ctx, alert, [AlertResolvedV1(**escalation.lifecycle(alert, now), by=by,
                                                                reason=reason)])
    position, step = alert.position, alert.step
    if position is not None and step is not None and step.tells_resolution:
        await escalation.notify(conn, alert, event="resolved", position=position, step=step, targets=step.targets,
                                now=now)
    return alert
