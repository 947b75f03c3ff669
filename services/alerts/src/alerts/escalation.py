"""Climbing the ladder: fire a step (state, timeline, ``alerts.alert-escalated``, notifications), the alert's one
durable timer, the multi-ack reminders, and a supervisor's "escalate now / to step N".

The rules of the climb are the alert's (``domain.alert``): this module loads the alert through the store, asks
the domain what changes, persists it and enqueues what it says. The alert row is the truth; the timer (kind
``alert-due``, key the alert id) only wakes the service at the earlier of ``next_escalation_at`` and
``next_reminder_at``. A handler re-reads the alert under its lock and acts only on what is due, so a late,
repeated or stale firing changes nothing, and two replicas never fire a step twice (the timer runner's ``SKIP
LOCKED`` plus the row lock). A step that fires late (the service was down across its due time) fires once, and
the next step's delay counts from the due time, not from the late firing, so a ladder whose several steps fell
due during an outage catches up one step per firing.

Notifications go to delivery (``alerts.delivery.enqueue.enqueue_notifications``) in the same transaction,
unless an active silence matches the alert: then they are held (``held_since``) and released at its end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from alerts.context import AlertsContext
from alerts.delivery.enqueue import enqueue_notifications
from alerts.delivery.live import notify_live_many
from alerts.delivery.requests import NotificationRequest
from alerts.domain.alert import Alert, Fire, Status, step_event
from alerts.domain.policy import Position, Step
from alerts.domain.silence import Silence
from alerts.store import alerts as store
from alerts.store import silences as silence_store
from alerts.store import timeline
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
from pingan_shared.timers import Timer, cancel, schedule, schedule_many

ALERT_DUE = store.ALERT_DUE

_EVENT_TYPES: dict[type[AlertLifecycle], str] = {
    AlertRaisedV1: ALERT_RAISED, AlertEscalatedV1: ALERT_ESCALATED, AlertAcknowledgedV1: ALERT_ACKNOWLEDGED,
    AlertResolvedV1: ALERT_RESOLVED,
}


def lifecycle(alert: Alert, at: datetime) -> dict[str, Any]:
    """What every lifecycle event says about its alert."""
    return {"alert_id": alert.id, "dedup_key": alert.dedup_key, "kind": alert.kind, "unit_id": alert.unit_id,
            "place": alert.place, "source": SourceLink.model_validate(alert.source), "at": at}


async def publish(conn: asyncpg.Connection, ctx: AlertsContext, alert: Alert,
                  payloads: Sequence[AlertLifecycle]) -> None:
    """The alert's lifecycle events through the outbox (topic alerts.alerts, key the dedup key), in order, and
    to the live stream (``alert-raised`` …) — both leave when the caller's transaction commits. ``alert`` is as
    the change left it: the stream shows each reader only what its unit or scope may see, so the live payload
    carries the alert's ``unit_id`` and ``area`` (the lifecycle contract has no area)."""
    await publish_many(conn, ctx, [(alert, p) for p in payloads])


async def publish_many(conn: asyncpg.Connection, ctx: AlertsContext,
                       items: Sequence[tuple[Alert, AlertLifecycle]]) -> None:
    """``publish`` for many alerts at once: two statements to the outbox and one to the stream, whatever
    their number (a batch of due steps)."""
    if not items:
        return
    made = [ctx.events.make(_EVENT_TYPES[type(p)], p, key=p.dedup_key) for _, p in items]
    await enqueue(conn, made)
    # the live payload starts from the envelope's payload, dumped once for both (a burst publishes thousands)
    await notify_live_many(conn, [
        (_EVENT_TYPES[type(p)].removeprefix("alerts."), live_payload(alert, p, envelope.payload))
        for (alert, p), (_, envelope) in zip(items, made, strict=True)])


def live_payload(alert: Alert, payload: AlertLifecycle, dumped: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a dashboard needs of a lifecycle change: the event's fields (``dumped``: already as JSON, e.g. its
    envelope's payload), the alert's area and status, and the step it stands at (for an escalation, the step it
    reached)."""
    step = alert.step
    fields = payload.model_dump(mode="json") if dumped is None else dumped
    return {**fields, "area": alert.area, "places": list(alert.places),
            "place_name": alert.place_name, "unit_name": alert.unit_name, "status": alert.status.value,
            "severity": alert.severity, "summary": alert.summary,
            "step": alert.current_step if step is not None else None,
            "label": step.label if step is not None else None,
            **({"step": payload.step, "label": payload.label} if isinstance(payload, AlertEscalatedV1) else {})}


async def arm(conn: asyncpg.Connection, alert: Alert) -> None:
    """Point the alert's timer at its next due moment (escalation or reminder), or stop it."""
    wake_at = alert.wake_at()
    if wake_at is None:
        await cancel(conn, ALERT_DUE, alert.id)
    else:
        await schedule(conn, ALERT_DUE, alert.id, wake_at)


async def arm_many(conn: asyncpg.Connection, alerts: Sequence[Alert]) -> None:
    """``arm`` for many alerts in (at most) two statements."""
    armed: list[tuple[str, str, datetime, None]] = []
    stopped: list[str] = []
    for alert in alerts:
        wake_at = alert.wake_at()
        if wake_at is None:
            stopped.append(alert.id)
        else:
            armed.append((ALERT_DUE, alert.id, wake_at, None))
    await store.stop_timers(conn, stopped)
    await schedule_many(conn, armed)


# --- notifications -----------------------------------------------------------------------------------------

async def holding_silences(conn: asyncpg.Connection, alert: Alert, now: datetime) -> list[str]:
    """The active silences that match the alert (their ids): while any does, its notifications are held."""
    return alert.holding(await silence_store.active(conn, now))


def _requests(alert: Alert, *, event: str, position: Position, step: Step, targets: Sequence[str],
              at: datetime) -> list[NotificationRequest]:
    link = alert.source.get("url")
    return [NotificationRequest(
        alert_id=alert.id, dedup_key=alert.dedup_key, kind=alert.kind, severity=alert.severity,
        summary=alert.summary, unit_id=alert.unit_id, area=alert.area, places=alert.places, event=event,
        step_index=position.step,
        step_label=step.label, loop=position.loop, target=target, channels=tuple(step.channels), link=link, at=at,
    ) for target in targets]


def _notified(event: str, position: Position, step: Step, targets: Sequence[str]) -> dict[str, Any]:
    return {"event": event, "step": position.step, "loop": position.loop, "label": step.label,
            "targets": list(targets), "channels": list(step.channels)}


async def send(conn: asyncpg.Connection, alert: Alert, *, event: str, position: Position, step: Step,
               targets: Sequence[str], now: datetime, due: datetime | None = None) -> None:
    """Hand one notification per target to delivery, in this transaction. ``due`` (default ``now``) is the
    request's ``at``: a reminder passes its scheduled moment, the same however late or often it is retried, so
    that delivery can tell one reminder of a step from the next."""
    if not targets:
        return
    await enqueue_notifications(conn, _requests(alert, event=event, position=position, step=step, targets=targets,
                                                at=due or now))
    await timeline.record(conn, alert.id, "notified", now, _notified(event, position, step, targets))


@dataclass(frozen=True)
class Notice:
    """One alert event to hand to delivery for the targets of a step (``due``: the request's ``at``)."""

    alert: Alert
    event: str
    position: Position
    step: Step
    targets: Sequence[str]
    due: datetime | None = None


async def notify(conn: asyncpg.Connection, alert: Alert, *, event: str, position: Position, step: Step,
                 targets: Sequence[str], now: datetime, due: datetime | None = None) -> Alert:
    """``send`` unless a silence holds the alert: then record what was held and mark the alert held."""
    return (await notify_many(conn, [Notice(alert, event, position, step, targets, due)], now=now))[0]


async def notify_many(conn: asyncpg.Connection, notices: Sequence[Notice], *, now: datetime,
                      silences: Sequence[Silence] | None = None) -> list[Alert]:
    """``notify`` for many alerts: the active silences read once, one insert of delivery rows, one of timeline
    entries. Returns each notice's alert (marked held where a silence holds it)."""
    if silences is None:
        silences = await silence_store.active(conn, now)
    requests: list[NotificationRequest] = []
    entries: list[tuple[str, str, datetime, dict[str, Any]]] = []
    alerts: list[Alert] = []
    for notice in notices:
        alert, position, step, targets = notice.alert, notice.position, notice.step, list(notice.targets)
        holding = alert.holding(silences)
        if holding:
            entries.append((alert.id, "held", now, {
                "event": notice.event, "step": position.step, "loop": position.loop, "label": step.label,
                "targets": targets, "silences": holding}))
            held = alert.held(now)
            if held is not alert:
                alert = await store.save(conn, held)
        elif targets:
            requests.extend(_requests(alert, event=notice.event, position=position, step=step, targets=targets,
                                      at=notice.due or now))
            entries.append((alert.id, "notified", now, _notified(notice.event, position, step, targets)))
        alerts.append(alert)
    await enqueue_notifications(conn, requests)
    await timeline.record_many(conn, entries)
    return alerts


# --- firing a step -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Firing:
    """A step to take on ``alert``'s ladder (``fire``: where, due when, why)."""

    alert: Alert
    fire: Fire


async def fire(conn: asyncpg.Connection, ctx: AlertsContext, alert: Alert, step: Fire, *,
               now: datetime) -> Alert:
    """Take ``step``: the alert is open again at that step, the next step is due its delay after the step's due
    time, a multi-ack step reminds at its ack timeout; timeline, event, notifications."""
    return (await fire_many(conn, ctx, [Firing(alert, step)], now=now))[0]


async def fire_many(conn: asyncpg.Connection, ctx: AlertsContext, firings: Sequence[Firing], *,
                    now: datetime) -> list[Alert]:
    """``fire`` for many alerts (each locked, each once) in a fixed number of statements: one update of the
    alerts, one insert of timeline entries, the outbox and stream, the silences read once, one insert of
    delivery rows, one of their timeline entries, and their timers re-armed together. The policy each step
    comes from is the alert's frozen copy."""
    saved = await store.save_many(conn, [f.alert.fired(f.fire.position, due=f.fire.due, now=now) for f in firings])
    entries: list[tuple[str, str, datetime, dict[str, Any]]] = []
    events: list[tuple[Alert, AlertLifecycle]] = []
    notices: list[Notice] = []
    for firing in firings:
        alert, position, due = saved[firing.alert.id], firing.fire.position, firing.fire.due
        step = alert.policy.steps[position.step]
        next_at = alert.next_escalation_at
        entries.append((alert.id, "step", now, {
            "step": position.step, "loop": position.loop, "label": step.label, "targets": list(step.targets),
            "channels": list(step.channels), "requires_all_acks": step.requires_all_acks,
            "reason": firing.fire.reason, "due": due.isoformat(),
            "next_escalation_at": next_at.isoformat() if next_at else None}))
        if alert.next_position() is None:
            entries.append((alert.id, "ladder-exhausted", now, {"step": position.step, "loop": position.loop}))
        events.append((alert, AlertEscalatedV1(**lifecycle(alert, now), step=position.step, label=step.label,
                                               loop=position.loop, targets=list(step.targets))))
        notices.append(Notice(alert, step_event(position), position, step, step.targets))
    await timeline.record_many(conn, entries)
    await publish_many(conn, ctx, events)
    alerts = await notify_many(conn, notices, now=now)
    await arm_many(conn, alerts)
    return alerts


async def start_climb(conn: asyncpg.Connection, ctx: AlertsContext, alert: Alert, *, now: datetime) -> Alert:
    """A newly raised alert: its first step now (no delay) or at its delay."""
    started = alert.start(now)
    if isinstance(started, Fire):
        return await fire(conn, ctx, alert, started, now=now)
    if started is alert:
        return alert  # leads nowhere: the auditor reports it
    alert = await store.save(conn, started)
    await arm(conn, alert)
    return alert


async def remind(conn: asyncpg.Connection, alert: Alert, *, now: datetime) -> Alert:
    """A multi-ack step's reminder to the targets that have not acknowledged yet, and the next one armed."""
    reminding = alert.reminding()
    if reminding is None:
        return await store.save(conn, alert.reminders_stopped(now))
    position, step = reminding
    missing = alert.unanswered(await store.acks(conn, alert.id, step=position.step, loop=position.loop))
    if not missing:
        return await store.save(conn, alert.reminders_stopped(now))
    await timeline.record(conn, alert.id, "reminder", now, {
        "step": position.step, "loop": position.loop, "label": step.label, "waiting_for": missing})
    alert = await notify(conn, alert, event="reminder", position=position, step=step, targets=missing, now=now,
                         due=alert.next_reminder_at)
    return await store.save(conn, alert.reminded(now))


async def on_alert_due(ctx: AlertsContext, conn: asyncpg.Connection, timer: Timer) -> None:
    """The alert's timer: a reminder and/or the next step (or the end of an acknowledgement), whichever is due."""
    alert = await store.lock(conn, timer.key)
    if alert is None or alert.resolved:
        return
    await _act_on_due(ctx, conn, alert, now=ctx.now())


async def on_alerts_due(ctx: AlertsContext, conn: asyncpg.Connection, timers: Sequence[Timer]) -> None:
    """Many alerts' timers at once (the timer runner holds their rows): the alerts are locked in one statement,
    and those whose only due thing is their next step by its delay — the common case, e.g. thousands of
    overdue tasks reaching 通报 together — fire together (``fire_many``); any other (a reminder due, an
    acknowledgement lapsing, the ladder's end) takes the one-alert path, in the same transaction."""
    alerts = await store.lock_many(conn, [t.key for t in timers])
    now = ctx.now()
    firings: list[Firing] = []
    for timer in timers:
        alert = alerts.get(timer.key)
        if alert is None or alert.resolved:
            continue
        step = alert.due_step(now)
        if step is not None:
            firings.append(Firing(alert, step))
            continue
        await _act_on_due(ctx, conn, alert, now=now)
    if firings:
        await fire_many(conn, ctx, firings, now=now)


async def _act_on_due(ctx: AlertsContext, conn: asyncpg.Connection, alert: Alert, *, now: datetime) -> None:
    """What a locked, unresolved alert's timer finds due: a reminder, the next step, or the end of an
    acknowledgement; then the timer is pointed at what comes next."""
    if alert.reminder_due(now):
        alert = await remind(conn, alert, now=now)
    due = alert.due(now)
    if due is not None and alert.status is Status.ACKNOWLEDGED:
        await timeline.record(conn, alert.id, "acknowledgement-expired", now, {
            "acknowledged_by": alert.acknowledged_by, "step": alert.current_step, "loop": alert.loop})
    if isinstance(due, Fire):
        await fire(conn, ctx, alert, due, now=now)
        return  # fire() armed the timer
    if due is not None:
        alert = await store.save(conn, due)  # nothing further to climb to: open again, nothing due
    await arm(conn, alert)


async def escalate_now(conn: asyncpg.Connection, ctx: AlertsContext, alert: Alert, *, to_step: int | None,
                       by: str, now: datetime) -> Alert:
    """A supervisor's "escalate now" (the next step) or "escalate to step N" (in the current climb)."""
    target = alert.escalation_target(to_step)
    return await fire(conn, ctx, alert, Fire(target, now, f"manual by {by}"), now=now)
