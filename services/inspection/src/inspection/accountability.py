"""责任追究: the alerts service's lifecycle events for a task's overdue alert, recorded on the task.

Consumed by ``inspection.accountability`` (inbox: each event once). Every escalation step (通报 → 挂牌督办 →
约谈 → 问责) becomes an accountability record, one per (alert, step, loop), whatever the order they arrive in:
a step that was taken was taken. The alert's state (raised, escalated, acknowledged, resolved) is a state
machine, so it follows the per-key sequence (``pingan_shared.messaging.ordering``): an event older than the
one applied changes nothing, and a ``resolved`` that overtook its escalation stays resolved.

Only alerts raised from inspection's own signals are acted on (DESIGN.md §3, provenance): the alerts service
raises an ``inspection:`` key only from inspection's own signal topic (it refuses that namespace from anyone
else), so a key of inspection's tasks means inspection raised it. A key of another namespace is not ours
(ignored); an event that another producer than alerts claims to have published, or one naming a task that does
not exist, can never be applied (dead letter, with the reason).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel

from inspection.signals import task_id_of
from inspection.store import alerts as store
from inspection.store import tasks as task_store
from inspection.store import timeline
from pingan_shared.events.alert_contracts import (
    AlertAcknowledgedV1,
    AlertEscalatedV1,
    AlertLifecycle,
    AlertRaisedV1,
    AlertResolvedV1,
)
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import HandlerRejected
from pingan_shared.messaging.ordering import highest_applied, should_apply

ALERTS_ACTOR = "alerts"  # who the timeline says acted
ALERTS_PRODUCER = "alerts"  # the only producer of alert lifecycle events


def _status(payload: AlertLifecycle) -> str:
    if isinstance(payload, AlertEscalatedV1):
        return "escalated"
    if isinstance(payload, AlertAcknowledgedV1):
        return "acknowledged"
    if isinstance(payload, AlertResolvedV1):
        return "resolved"
    if isinstance(payload, AlertRaisedV1):
        return "raised"
    raise HandlerRejected(f"not an alert lifecycle event: {type(payload).__name__}")


async def on_alert_lifecycle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
    assert isinstance(payload, AlertLifecycle)
    task_id = task_id_of(payload.dedup_key)
    if task_id is None:
        return  # another source's alert
    if envelope.producer != ALERTS_PRODUCER:
        raise HandlerRejected(f"告警事件须由 alerts 发布，此事件声称来自 {envelope.producer} (only the alerts service "
                              f"publishes alert lifecycle events; this one claims producer {envelope.producer!r})")
    if not await task_store.exists(conn, task_id):
        raise HandlerRejected(f"alert {payload.alert_id} names task {task_id!r}, which inspection does not have")
    status = _status(payload)
    at: datetime = payload.at

    if isinstance(payload, AlertEscalatedV1):
        recorded = await store.record_step(
            conn, task_id=task_id, alert_id=payload.alert_id, step=payload.step, loop=payload.loop,
            label=payload.label, targets=list(payload.targets), at=at, event_id=envelope.event_id,
        )
        if recorded:
            await timeline.record(conn, task_id, at=at, actor=ALERTS_ACTOR, action="accountability",
                                  detail={"label": payload.label, "step": payload.step, "loop": payload.loop,
                                          "alert_id": payload.alert_id})
    else:
        detail: dict[str, object] = {"alert_id": payload.alert_id}
        if isinstance(payload, AlertResolvedV1) and payload.reason:
            detail["reason"] = payload.reason
        await timeline.record(conn, task_id, at=at, actor=ALERTS_ACTOR, action=f"alert-{status}", detail=detail)

    state = await store.alert_state_for_update(conn, payload.dedup_key, task_id, at)
    if not should_apply(state["last_sequence"], envelope):
        return  # an older transition than the one applied: the newer state stands
    label = payload.label if isinstance(payload, AlertEscalatedV1) else None
    await store.set_alert_state(conn, payload.dedup_key, alert_id=payload.alert_id, status=status, label=label,
                                last_sequence=highest_applied(state["last_sequence"], envelope), at=at)
