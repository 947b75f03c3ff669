"""What the auditor asks of delivery: messages stuck in sending, and the counts behind the delivery gauges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from alerts.auditor import CHECKS, AuditCheck
from alerts.context import AlertsContext
from alerts.delivery.metrics import DeliveryMetrics


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
