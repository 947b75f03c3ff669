"""What the auditor asks of delivery: messages stuck in sending, targets the directory no longer reaches, and the
counts behind the delivery gauges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from alerts.auditor import CHECKS, AuditCheck
from alerts.context import AlertsContext
from alerts.delivery.directory import recipients_for, resolve
from alerts.delivery.metrics import DeliveryMetrics
from alerts.domain.policy import Policy


@dataclass(frozen=True)
class StuckDelivery:
    message_id: int
    recipient: str
    channel: str
    attempts: int
    sending_deadline: datetime
    overdue: timedelta
    alert_ids: list[str]


async def stuck_deliveries(conn: asyncpg.Connection, now: datetime, bound: timedelta) -> list[StuckDelivery]:
    """Messages still in ``sending`` more than ``bound`` past their deadline: the worker should have taken them
    back by then, so none should exist; any that does means delivery is stalled (no worker running, or every
    one failing before it gets there)."""
    rows = await conn.fetch(
        "SELECT m.id, m.recipient, m.channel, m.attempts, m.sending_deadline,"
        " array(SELECT DISTINCT d.alert_id FROM deliveries d WHERE d.message_id = m.id ORDER BY 1) AS alert_ids"
        " FROM delivery_messages m WHERE m.status = 'sending' AND m.sending_deadline < $1"
        " ORDER BY m.sending_deadline, m.id", now - bound)
    return [StuckDelivery(message_id=r["id"], recipient=r["recipient"], channel=r["channel"],
                          attempts=r["attempts"], sending_deadline=r["sending_deadline"],
                          overdue=now - r["sending_deadline"], alert_ids=list(r["alert_ids"])) for r in rows]


async def stuck_check(conn: asyncpg.Connection, ctx: AlertsContext, now: datetime) -> list[dict[str, Any]]:
    """The auditor's check ``delivery_stuck`` (gauge ``pingan_alerts_delivery_stuck``), bound
    ALERTS_DELIVERY_STUCK_BOUND_SECONDS. Reported, not repaired: any running worker takes such a message back
    by itself, so one still there means no worker is getting to it."""
    bound = timedelta(seconds=ctx.settings.delivery_stuck_bound_seconds)
    return [{"message_id": s.message_id, "recipient": s.recipient, "channel": s.channel, "attempts": s.attempts,
             "sending_deadline": s.sending_deadline.isoformat(),
             "overdue_seconds": round(s.overdue.total_seconds(), 3), "alert_ids": s.alert_ids}
            for s in await stuck_deliveries(conn, now, bound)]


CHECKS["delivery_stuck"] = AuditCheck("Delivery messages still in sending past their deadline by more than the bound",
                                      stuck_check)


async def unreachable_check(conn: asyncpg.Connection, ctx: AlertsContext, now: datetime) -> list[dict[str, Any]]:
    """The auditor's check ``unreachable_targets``: unresolved alerts whose frozen ladder names a target that the
    contacts directory reaches on none of its step's channels today — a contact deleted or never entered (a 211
    unit missing from the directory), a group left without members. Policies are checked when saved, but the
    directory changes after an alert froze its ladder; the step would then fire to nobody, and a summons (约谈)
    waiting for every target's acknowledgement would wait for ever. Reported, not repaired: an admin adds the
    contact (the next step reaches it) or escalates by hand."""
    rows = await conn.fetch(
        "SELECT id, dedup_key, kind, policy FROM alerts WHERE status <> 'resolved' ORDER BY id LIMIT 10000")
    ladders = [(row, Policy.from_json(row["policy"])) for row in rows]
    resolved = await resolve(conn, sorted({t for _, policy in ladders for step in policy.steps for t in step.targets}))
    findings = []
    for row, policy in ladders:
        steps = []
        for index, step in enumerate(policy.steps):
            lost = [t for t in step.targets
                    if not any(recipients_for(resolved.get(t, []), channel) for channel in step.channels)]
            if lost:
                steps.append({"step": index, "label": step.label, "targets": lost})
        if steps:
            findings.append({"alert_id": row["id"], "dedup_key": row["dedup_key"], "kind": row["kind"],
                             "steps": steps})
    return findings


CHECKS["unreachable_targets"] = AuditCheck(
    "Unresolved alerts whose frozen ladder names a target the contacts directory no longer reaches", unreachable_check)


async def count_into(conn: asyncpg.Connection, metrics: DeliveryMetrics, now: datetime) -> None:
    """Sets the delivery gauges from the tables (every replica counts the same rows: the gauges agree)."""
    rows = await conn.fetch("SELECT channel, status, count(*) AS n FROM delivery_messages GROUP BY 1, 2")
    for channel in ("webhook", "email", "inbox", "stream"):
        for status in ("pending", "sending", "sent", "delivered", "failed"):
            metrics.messages.labels(channel=channel, status=status).set(0)
    for row in rows:
        metrics.messages.labels(channel=row["channel"], status=row["status"]).set(row["n"])
    metrics.notifications_pending.set(
        await conn.fetchval("SELECT count(*) FROM deliveries WHERE message_id IS NULL"))
    metrics.sending_overdue.set(await conn.fetchval(
        "SELECT count(*) FROM delivery_messages WHERE status = 'sending' AND sending_deadline < $1", now))
    metrics.dead_letters.set(await conn.fetchval("SELECT count(*) FROM delivery_dead_letters"))
