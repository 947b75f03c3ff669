"""The alert signals inspection sends the alerts service (DESIGN.md §3): an overdue task raises, its
verification resolves. Built here, written by the caller through the outbox in its own transaction.

One dedup key per task (``inspection:task:<id>:overdue``), keyed by it so its signals keep their order and
carry its per-key sequence; the alerts service's lifecycle events come back under the same key
(``accountability``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from inspection.domain.findings import CATEGORY_NAMES, Category
from pingan_shared.directory.doors import SignalPlace
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory

DEDUP_PREFIX = "inspection:task:"
DEDUP_SUFFIX = ":overdue"
OVERDUE_KIND = "inspection.task-overdue"

_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


def overdue_key(task_id: str) -> str:
    return f"{DEDUP_PREFIX}{task_id}{DEDUP_SUFFIX}"


def task_id_of(dedup_key: str) -> str | None:
    """The task a dedup key of inspection's names (``inspection:task:<id>:<what>``); None for another's key."""
    if not dedup_key.startswith(DEDUP_PREFIX):
        return None
    rest = dedup_key[len(DEDUP_PREFIX):]
    task_id, sep, what = rest.rpartition(":")
    return task_id if sep and task_id and what else None


def signal_severity(task_severity: str, *, listed: bool) -> Severity:
    """The task's own severity; a task under listed supervision (挂牌督办) is at least high."""
    try:
        severity = Severity(task_severity)
    except ValueError:
        severity = Severity.MEDIUM
    if listed and _SEVERITY_ORDER.index(severity) < _SEVERITY_ORDER.index(Severity.HIGH):
        return Severity.HIGH
    return severity


def category_name(category: str) -> str:
    try:
        return CATEGORY_NAMES[Category(category)]
    except ValueError:
        return category


def overdue_summary(task: Mapping[str, Any], unit_name: str | None, notice_number: str | None) -> str:
    """安阳街道 整改任务逾期：消防安全 万松路12号（〔2026〕12号）"""
    place = f" {task['place']}" if task["place"] else ""
    notice = f"（{notice_number}）" if notice_number else ""
    who = unit_name or task["unit_id"] or "待分派"
    return f"{who} 整改任务逾期：{category_name(task['category'])}{place}{notice}"[:500]


def overdue_signal(
    events: EventFactory, task: Mapping[str, Any], *, action: SignalAction, unit_name: str | None,
    notice_number: str | None, at: datetime, where: SignalPlace, causation: Envelope | None = None,
    correlation_id: uuid.UUID | None = None,
) -> tuple[str, Envelope]:
    """The trigger (at the deadline) or resolve (at the verification) signal of a task's overdue alert."""
    payload = AlertSignalV1(
        action=action,
        dedup_key=overdue_key(task["id"]),
        kind=OVERDUE_KIND,
        severity=signal_severity(task["severity"], listed=task["listed"]),
        unit_id=task["unit_id"],
        area=(task["place"] or None) and str(task["place"])[:200],
        place=where.place, place_name=where.place_name, unit_name=where.unit_name or unit_name,
        summary=overdue_summary(task, unit_name, notice_number),
        source=SourceLink(service="inspection", entity_type="task", entity_id=task["id"]),
        occurred_at=at,
    )
    return events.make(ALERT_SIGNAL, payload, key=payload.dedup_key, causation=causation,
                       correlation_id=correlation_id)
