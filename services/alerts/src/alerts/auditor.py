"""The auditor: escalation must never stall silently.

A background loop (``runtime.background["alerts-auditor"]``) runs every ``ALERTS_AUDITOR_INTERVAL_SECONDS`` and
looks for

* ``stalled``: an unresolved alert whose next escalation (or reminder) is due by more than
  ``ALERTS_AUDITOR_STALL_BOUND_SECONDS`` yet has not fired. If its timer is missing, cancelled, failed or armed
  for later than the alert says, the auditor re-arms it (the timer runner fires it at once; the timeline says
  ``auditor-rearmed``); if the timer is pending and due, the runner itself is behind or down: reported;
* ``leading_nowhere``: an unresolved alert whose frozen policy reaches nobody (no policy for its kind, or a step
  left without targets);

plus any check the delivery side registers in ``CHECKS`` (e.g. deliveries stuck in sending). Each finding is
logged, counted in a gauge ``pingan_alerts_<check>`` (an operator alerts on it being above 0), and shown by
``GET /v1/auditor``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from prometheus_client import Gauge

from alerts.context import AlertsContext
from alerts.domain.policy import leads_nowhere
from alerts.store import alerts as store
from alerts.store import timeline
from alerts.store.alerts import ALERT_DUE
from pingan_shared.logs import get_logger
from pingan_shared.timers import schedule

log = get_logger(__name__)

# A check reads the database at ``now`` and returns its findings, each a JSON object naming what is wrong.
CheckFunction = Callable[[asyncpg.Connection, AlertsContext, datetime], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class AuditCheck:
    description: str  # the gauge's help text
    run: CheckFunction


async def stalled(conn: asyncpg.Connection, ctx: AlertsContext, now: datetime) -> list[dict[str, Any]]:
    bound = timedelta(seconds=ctx.settings.auditor_stall_bound_seconds)
    findings = []
    for found in await store.overdue(conn, now - bound):
        alert = found.alert
        due = alert.wake_at()
        assert due is not None
        # The alert's timer gone (cancelled, failed, never armed) or pointing later than the alert's due moment:
        # arm it so the runner fires it now. A pending timer due in time means the runner is behind: report.
        repaired = found.timer_status != "pending" or (found.timer_due_at is not None and found.timer_due_at > due)
        if repaired:
            await schedule(conn, ALERT_DUE, alert.id, due)
            await timeline.record(conn, alert.id, "auditor-rearmed", now, {
                "due_at": due.isoformat(), "timer": found.timer_status or "missing"})
        findings.append({
            "alert_id": alert.id, "dedup_key": alert.dedup_key, "status": alert.status.value,
            "step": alert.current_step, "loop": alert.loop, "due_at": due.isoformat(),
            "overdue_seconds": round((now - due).total_seconds(), 3), "timer": found.timer_status or "missing",
            "action": "re-armed" if repaired else "reported",
        })
    return findings


async def nowhere(conn: asyncpg.Connection, ctx: AlertsContext, now: datetime) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = []
    for ladder in await store.unresolved_ladders(conn):
        problems = leads_nowhere(ladder.policy)
        if problems:
            findings.extend({"alert_id": alert_id, "dedup_key": key, "kind": kind, "policy": ladder.policy.id,
                             "problems": problems} for alert_id, key, kind in ladder.alerts)
    return sorted(findings, key=lambda f: f["alert_id"])


# name → check; the delivery side adds its own (``CHECKS["delivery_stuck"] = AuditCheck(...)``) at import.
CHECKS: dict[str, AuditCheck] = {
    "stalled": AuditCheck("Unresolved alerts whose next step or reminder is overdue by more than the bound", stalled),
    "leading_nowhere": AuditCheck("Unresolved alerts whose frozen policy reaches nobody", nowhere),
}


async def run_checks(ctx: AlertsContext) -> dict[str, Any]:
    """Every check once, in one transaction (a repair commits with what found it): the report."""
    now = ctx.now()
    findings: dict[str, list[dict[str, Any]]] = {}
    async with ctx.runtime.connection() as conn, conn.transaction():
        for name, check in CHECKS.items():
            findings[name] = await check.run(conn, ctx, now)
    return {"checked_at": now.isoformat(), "bound_seconds": ctx.settings.auditor_stall_bound_seconds,
            "findings": findings}


class Auditor:
    """The background loop: ``run_checks`` every interval, the gauges set, what it found logged."""

    def __init__(self, ctx: AlertsContext) -> None:
        self._ctx = ctx
        self._gauges: dict[str, Gauge] = {}

    def _gauge(self, name: str, check: AuditCheck) -> Gauge:
        if name not in self._gauges:
            self._gauges[name] = Gauge(f"pingan_alerts_{name}", check.description,
                                       registry=self._ctx.runtime.metrics.registry)
        return self._gauges[name]

    async def audit(self) -> dict[str, Any]:
        report = await run_checks(self._ctx)
        for name, found in report["findings"].items():
            self._gauge(name, CHECKS[name]).set(len(found))
            if found:
                log.warning("alerts auditor found a problem", check=name, count=len(found), first=found[0])
        return report

    async def run(self) -> None:
        while True:
            try:
                await self.audit()
            except Exception as exc:  # the database away: try again next round, never die of it
                log.warning("alerts auditor round failed", error=repr(exc))
            await asyncio.sleep(self._ctx.settings.auditor_interval_seconds)
