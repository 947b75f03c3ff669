"""What the auditor asks of delivery: messages stuck in sending, targets the directory no longer reaches, and the
counts behind the delivery gauges."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from alerts.auditor import CHECKS, AuditCheck
from alerts.context import AlertsContext
from alerts.delivery.metrics import DeliveryMetrics
from alerts.domain.contacts import recipients_for
from alerts.store import alerts as alert_store
from alerts.store import deliveries as store
from alerts.store.contacts import resolve


async def stuck_check(conn: asyncpg.Connection, ctx: AlertsContext, now: datetime) -> list[dict[str, Any]]:
    """The auditor's check ``delivery_stuck`` (gauge ``pingan_alerts_delivery_stuck``), bound
    ALERTS_DELIVERY_STUCK_BOUND_SECONDS. Reported, not repaired: any running worker takes such a message back
    by itself, so one still there means no worker is getting to it."""
    bound = timedelta(seconds=ctx.settings.delivery_stuck_bound_seconds)
    return [{"message_id": s.message_id, "recipient": s.recipient, "channel": s.channel, "attempts": s.attempts,
             "sending_deadline": s.sending_deadline.isoformat(),
             "overdue_seconds": round(s.overdue.total_seconds(), 3), "alert_ids": s.alert_ids}
            for s in await store.stuck_deliveries(conn, now, bound)]


CHECKS["delivery_stuck"] = AuditCheck("Delivery messages still in sending past their deadline by more than the bound",
                                      stuck_check)


async def unreachable_check(conn: asyncpg.Connection, ctx: AlertsContext, now: datetime) -> list[dict[str, Any]]:
    """The auditor's check ``unreachable_targets``: unresolved alerts whose frozen ladder names a target that the
    contacts directory reaches on none of its step's channels today — a contact deleted or never entered (a 211
    unit missing from the directory), a group left without members. Policies are checked when saved, but the
    directory changes after an alert froze its ladder; the step would then fire to nobody, and a summons (约谈)
    waiting for every target's acknowledgement would wait for ever. Reported, not repaired: an admin adds the
    contact (the next step reaches it) or escalates by hand."""
    ladders = await alert_store.unresolved_ladders(conn)
    resolved = await resolve(conn, sorted({t for ladder in ladders for step in ladder.policy.steps
                                           for t in step.targets}))
    findings: list[dict[str, Any]] = []
    for ladder in ladders:
        steps = []
        for index, step in enumerate(ladder.policy.steps):
            lost = [t for t in step.targets
                    if not any(recipients_for(resolved.get(t, []), channel) for channel in step.channels)]
            if lost:
                steps.append({"step": index, "label": step.label, "targets": lost})
        if steps:
            findings.extend({"alert_id": alert_id, "dedup_key": key, "kind": kind, "steps": steps}
                            for alert_id, key, kind in ladder.alerts)
    return sorted(findings, key=lambda f: f["alert_id"])


CHECKS["unreachable_targets"] = AuditCheck(
    "Unresolved alerts whose frozen ladder names a target the contacts directory no longer reaches", unreachable_check)


async def count_into(conn: asyncpg.Connection, metrics: DeliveryMetrics, now: datetime) -> None:
    """Sets the delivery gauges from the tables (every replica counts the same rows: the gauges agree)."""
    counted = await store.counts(conn, now)
    for channel in ("webhook", "email", "inbox", "stream"):
        for status in ("pending", "sending", "sent", "delivered", "failed"):
            metrics.messages.labels(channel=channel, status=status).set(0)
    for (channel, status), n in counted.messages.items():
        metrics.messages.labels(channel=channel, status=status).set(n)
    metrics.notifications_pending.set(counted.notifications_pending)
    metrics.sending_overdue.set(counted.sending_overdue)
    metrics.dead_letters.set(counted.dead_letters)
