"""Climbing the ladder: fire a step (state, timeline, ``alerts.alert-escalated``, notifications), the alert's one
durable timer, the multi-ack reminders, and a supervisor's "escalate now / to step N".

The alert row is the truth; the timer (kind ``alert-due``, key the alert id) only wakes the service at the
earlier of ``next_escalation_at`` and ``next_reminder_at``. A handler re-reads the row under its lock and acts
only on what is due, so a late, repeated or stale firing changes nothing, and two replicas never fire a step
twice (the timer runner's ``SKIP LOCKED`` plus the row lock). A step that fires late (the service was down
across its due time) fires once, and the next step's delay counts from the due time, not from the late
firing, so a ladder whose several steps fell due during an outage catches up one step per firing.

Notifications go to delivery (``alerts.delivery.enqueue.enqueue_notifications``) in the same transaction,
unless an active silence matches the alert: then they are held (``held_since``) and released at its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from alerts import timeline
from alerts.context import AlertsContext
from alerts.delivery.enqueue import enqueue_notifications
from alerts.delivery.live import notify_live
from alerts.delivery.requests import NotificationRequest
from alerts.domain.policy import Policy, Position, Step, following
from alerts.store import alerts as store
from alerts.store import silences as silence_store
from pingan_shared.events.alert_contracts import (
    AlertAcknowledgedV1,
    AlertEscalatedV1,
    AlertLifecycle,
    AlertRaisedV1,
    AlertResolvedV1,
    SourceLink,
)
from pingan_shared.events.catalog import ALERT_ACKNOWLEDGED, ALERT_ESCALATED, ALERT_RAISED, ALERT_RESOLVED
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.timers import Timer, cancel, schedule

ALERT_DUE = store.ALERT_DUE

_EVENT_TYPES: dict[type[AlertLifecycle], str] = {
    AlertRaisedV1: ALERT_RAISED, AlertEscalatedV1: ALERT_ESCALATED, AlertAcknowledgedV1: ALERT_ACKNOWLEDGED,
    AlertResolvedV1: ALERT_RESOLVED,
}


class EscalationRefused(Exception):
    """A request the alert's state does not allow (409), or a field out of range (422)."""

    def __init__(self, reason: str, *, field: str, conflict: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.field, self.conflict = reason, field, conflict


def policy_of(row: asyncpg.Record) -> Policy:
    return Policy.from_json(row["policy"])


def position_of(row: asyncpg.Record) -> Position | None:
    return None if row["current_step"] < 0 else Position(row["current_step"], row["loop"])


def current_step(row: asyncpg.Record) -> Step | None:
    position = position_of(row)
    return None if position is None else policy_of(row).steps[position.step]


def lifecycle(row: asyncpg.Record, at: datetime) -> dict[str, Any]:
    """What every lifecycle event says about its alert."""
    return {"alert_id": row["id"], "dedup_key": row["dedup_key"], "kind": row["kind"], "unit_id": row["unit_id"],
            "source": SourceLink.model_validate(row["source"]), "at": at}


async def publish(conn: asyncpg.Connection, ctx: AlertsContext, row: asyncpg.Record,
                  payloads: Sequence[AlertLifecycle]) -> None:
    """The alert's lifecycle events through the outbox (topic alerts.alerts, key the dedup key), in order, and
    to the live stream (``alert-raised`` …) — both leave when the caller's transaction commits. ``row`` is the
    alert as the change left it: the stream shows each reader only what its unit or scope may see, so the live
    payload carries the alert's ``unit_id`` and ``area`` (the lifecycle contract has no area)."""
    await enqueue(conn, [ctx.events.make(_EVENT_TYPES[type(p)], p, key=p.dedup_key) for p in payloads])
    for payload in payloads:
        await notify_live(conn, _EVENT_TYPES[type(payload)].removeprefix("alerts."), live_payload(row, payload))


def live_payload(row: asyncpg.Record, payload: AlertLifecycle) -> dict[str, Any]:
    """What a dashboard needs of a lifecycle change: the event's fields, the alert's area and status, and the
    step it stands at (for an escalation, the step it reached)."""
    step = current_step(row)
    return {**payload.model_dump(mode="json"), "area": row["area"], "status": row["status"],
            "severity": row["severity"], "summary": row["summary"],
            "step": row["current_step"] if step is not None else None,
            "label": step.label if step is not None else None,
            **({"step": payload.step, "label": payload.label} if isinstance(payload, AlertEscalatedV1) else {})}


async def arm(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
    """Point the alert's timer at its next due moment (escalation or reminder), or stop it."""
    due = [t for t in (row["next_escalation_at"], row["next_reminder_at"]) if t is not None]
    if row["status"] == "resolved" or not due:
        await cancel(conn, ALERT_DUE, row["id"])
    else:
        await schedule(conn, ALERT_DUE, row["id"], min(due))


# --- notifications -----------------------------------------------------------------------------------------

async def holding_silences(conn: asyncpg.Connection, row: asyncpg.Record, now: datetime) -> list[str]:
    """The active silences that match the alert (their ids): while any does, its notifications are held."""
    return [s.id for s in await silence_store.active(conn, now)
            if s.matches(kind=row["kind"], unit_id=row["unit_id"], area=row["area"])]


async def send(conn: asyncpg.Connection, row: asyncpg.Record, *, event: str, position: Position, step: Step,
               targets: Sequence[str], now: datetime, due: datetime | None = None) -> None:
    """Hand one notification per target to delivery, in this transaction. ``due`` (default ``now``) is the
    request's ``at``: a reminder passes its scheduled moment, the same however late or often it is retried, so
    that delivery can tell one reminder of a step from the next."""
    if not targets:
        return
    link = row["source"].get("url")
    await enqueue_notifications(conn, [NotificationRequest(
        alert_id=row["id"], dedup_key=row["dedup_key"], kind=row["kind"], severity=row["severity"],
        summary=row["summary"], unit_id=row["unit_id"], area=row["area"], event=event, step_index=position.step,
        step_label=step.label, loop=position.loop, target=target, channels=tuple(step.channels), link=link,
        at=due or now,
    ) for target in targets])
    await timeline.record(conn, row["id"], "notified", now, {
        "event": event, "step": position.step, "loop": position.loop, "label": step.label,
        "targets": list(targets), "channels": list(step.channels)})


async def notify(conn: asyncpg.Connection, row: asyncpg.Record, *, event: str, position: Position, step: Step,
                 targets: Sequence[str], now: datetime, due: datetime | None = None) -> asyncpg.Record:
    """``send`` unless a silence holds the alert: then record what was held and mark the alert held."""
    silences = await holding_silences(conn, row, now)
    if silences:
        await timeline.record(conn, row["id"], "held", now, {
            "event": event, "step": position.step, "loop": position.loop, "label": step.label,
            "targets": list(targets), "silences": silences})
        if row["held_since"] is None:
            row = await store.update(conn, row["id"], held_since=now)
        return row
    await send(conn, row, event=event, position=position, step=step, targets=targets, now=now, due=due)
    return row


def step_event(position: Position) -> str:
    """The first step of the first climb announces the alert; every later one escalates it."""
    return "raised" if position == Position(0, 0) else "escalated"


# --- firing a step -----------------------------------------------------------------------------------------

async def fire(conn: asyncpg.Connection, ctx: AlertsContext, row: asyncpg.Record, position: Position, *,
               due: datetime, now: datetime, reason: str) -> asyncpg.Record:
    """Take ``position``'s step: the alert is open again at that step, the next step is due its delay after
    ``due`` (when this one was due), a multi-ack step reminds at its ack timeout; timeline, event, notifications."""
    policy = policy_of(row)
    step = policy.steps[position.step]
    after = following(policy, position)
    next_at = due + policy.steps[after.step].delay if after is not None else None
    reminder_at = due + step.ack_timeout if step.requires_all_acks and step.ack_timeout is not None else None
    row = await store.update(conn, row["id"], status="open", current_step=position.step, loop=position.loop,
                             step_fired_at=now, next_escalation_at=next_at, next_reminder_at=reminder_at,
                             acknowledged_at=None, acknowledged_by=None, updated_at=now)
    await timeline.record(conn, row["id"], "step", now, {
        "step": position.step, "loop": position.loop, "label": step.label, "targets": list(step.targets),
        "channels": list(step.channels), "requires_all_acks": step.requires_all_acks, "reason": reason,
        "due": due.isoformat(), "next_escalation_at": next_at.isoformat() if next_at else None})
    if after is None:
        await timeline.record(conn, row["id"], "ladder-exhausted", now, {"step": position.step, "loop": position.loop})
    await publish(conn, ctx, row, [AlertEscalatedV1(**lifecycle(row, now), step=position.step, label=step.label,
                                               loop=position.loop, targets=list(step.targets))])
    row = await notify(conn, row, event=step_event(position), position=position, step=step,
                       targets=step.targets, now=now)
    await arm(conn, row)
    return row


async def start_climb(conn: asyncpg.Connection, ctx: AlertsContext, row: asyncpg.Record, *,
                      now: datetime) -> asyncpg.Record:
    """A newly raised alert: its first step now (no delay) or at its delay."""
    first = following(policy_of(row), None)
    if first is None:
        return row  # leads nowhere: the auditor reports it
    due = now + policy_of(row).steps[first.step].delay
    if due <= now:
        return await fire(conn, ctx, row, first, due=now, now=now, reason="raised")
    row = await store.update(conn, row["id"], next_escalation_at=due, updated_at=now)
    await arm(conn, row)
    return row


async def remind(conn: asyncpg.Connection, row: asyncpg.Record, *, now: datetime) -> asyncpg.Record:
    """A multi-ack step's reminder to the targets that have not acknowledged yet, and the next one armed."""
    position, step = position_of(row), current_step(row)
    if position is None or step is None or not step.requires_all_acks or step.ack_timeout is None:
        return await store.update(conn, row["id"], next_reminder_at=None, updated_at=now)
    acked = await store.acks(conn, row["id"], step=position.step, loop=position.loop)
    missing = [t for t in step.targets if t not in acked]
    if not missing:
        return await store.update(conn, row["id"], next_reminder_at=None, updated_at=now)
    await timeline.record(conn, row["id"], "reminder", now, {
        "step": position.step, "loop": position.loop, "label": step.label, "waiting_for": missing})
    row = await notify(conn, row, event="reminder", position=position, step=step, targets=missing, now=now,
                       due=row["next_reminder_at"])
    # The next reminder counts from now: after an outage one reminder goes out, not one per missed interval.
    return await store.update(conn, row["id"], next_reminder_at=now + step.ack_timeout, updated_at=now)


async def on_alert_due(ctx: AlertsContext, conn: asyncpg.Connection, timer: Timer) -> None:
    """The alert's timer: a reminder and/or the next step (or the end of an acknowledgement), whichever is due."""
    row = await store.lock(conn, timer.key)
    if row is None or row["status"] == "resolved":
        return
    now = ctx.now()
    if row["next_reminder_at"] is not None and row["next_reminder_at"] <= now and row["status"] == "open":
        row = await remind(conn, row, now=now)
    due: datetime | None = row["next_escalation_at"]
    if due is not None and due <= now:
        if row["status"] == "acknowledged":
            await timeline.record(conn, row["id"], "acknowledgement-expired", now, {
                "acknowledged_by": row["acknowledged_by"], "step": row["current_step"], "loop": row["loop"]})
        after = following(policy_of(row), position_of(row))
        if after is None:
            # nothing further to climb to: a lapsed acknowledgement still makes the alert open again
            row = await store.update(conn, row["id"], status="open", acknowledged_at=None, acknowledged_by=None,
                                     next_escalation_at=None, updated_at=now)
        else:
            row = await fire(conn, ctx, row, after, due=due, now=now,
                             reason="acknowledgement-expired" if row["status"] == "acknowledged" else "delay")
    await arm(conn, row)


async def escalate_now(conn: asyncpg.Connection, ctx: AlertsContext, row: asyncpg.Record, *, to_step: int | None,
                       by: str, now: datetime) -> asyncpg.Record:
    """A supervisor's "escalate now" (the next step) or "escalate to step N" (in the current climb)."""
    if row["status"] == "resolved":
        raise EscalationRefused("告警已关闭，不能升级（the alert is resolved）", field="status")
    policy = policy_of(row)
    if to_step is not None:
        if to_step >= len(policy.steps):
            raise EscalationRefused(f"升级阶梯只有 {len(policy.steps)} 级（to_step must be below {len(policy.steps)}）",
                                    field="body.to_step", conflict=False)
        target = Position(to_step, row["loop"])
    else:
        after = following(policy, position_of(row))
        if after is None:
            raise EscalationRefused("已是最后一级，无法继续升级（no further step）", field="status")
        target = after
    return await fire(conn, ctx, row, target, due=now, now=now, reason=f"manual by {by}")
