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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from alerts import timeline
from alerts.context import AlertsContext
from alerts.delivery.enqueue import enqueue_notifications
from alerts.delivery.live import notify_live_many
from alerts.delivery.requests import NotificationRequest
from alerts.domain.policy import Policy, Position, Step, following
from alerts.domain.silence import Silence
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
from pingan_shared.timers import Timer, cancel, schedule, schedule_many

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
    await publish_many(conn, ctx, [(row, p) for p in payloads])


async def publish_many(conn: asyncpg.Connection, ctx: AlertsContext,
                       items: Sequence[tuple[asyncpg.Record, AlertLifecycle]]) -> None:
    """``publish`` for many alerts at once: two statements to the outbox and one to the stream, whatever
    their number (a batch of due steps)."""
    if not items:
        return
    await enqueue(conn, [ctx.events.make(_EVENT_TYPES[type(p)], p, key=p.dedup_key) for _, p in items])
    await notify_live_many(conn, [(_EVENT_TYPES[type(p)].removeprefix("alerts."), live_payload(row, p))
                                  for row, p in items])


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


async def arm_many(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> None:
    """``arm`` for many alerts in (at most) two statements."""
    armed: list[tuple[str, str, datetime, None]] = []
    stopped: list[str] = []
    for row in rows:
        due = [t for t in (row["next_escalation_at"], row["next_reminder_at"]) if t is not None]
        if row["status"] == "resolved" or not due:
            stopped.append(row["id"])
        else:
            armed.append((ALERT_DUE, row["id"], min(due), None))
    if stopped:
        await conn.execute("UPDATE timers SET status = 'cancelled' WHERE kind = $1 AND timer_key = ANY($2::text[])"
                           " AND status = 'pending'", ALERT_DUE, stopped)
    await schedule_many(conn, armed)


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


@dataclass(frozen=True)
class Notice:
    """One alert event to hand to delivery for the targets of a step (``due``: the request's ``at``)."""

    row: asyncpg.Record
    event: str
    position: Position
    step: Step
    targets: Sequence[str]
    due: datetime | None = None


async def notify(conn: asyncpg.Connection, row: asyncpg.Record, *, event: str, position: Position, step: Step,
                 targets: Sequence[str], now: datetime, due: datetime | None = None) -> asyncpg.Record:
    """``send`` unless a silence holds the alert: then record what was held and mark the alert held."""
    return (await notify_many(conn, [Notice(row, event, position, step, targets, due)], now=now))[0]


async def notify_many(conn: asyncpg.Connection, notices: Sequence[Notice], *, now: datetime,
                      silences: Sequence[Silence] | None = None) -> list[asyncpg.Record]:
    """``notify`` for many alerts: the active silences read once, one insert of delivery rows, one of timeline
    entries. Returns each notice's alert row (marked held where a silence holds it)."""
    if silences is None:
        silences = await silence_store.active(conn, now)
    requests: list[NotificationRequest] = []
    entries: list[tuple[str, str, datetime, dict[str, Any]]] = []
    rows: list[asyncpg.Record] = []
    for notice in notices:
        row, position, step, targets = notice.row, notice.position, notice.step, list(notice.targets)
        holding = [s.id for s in silences if s.matches(kind=row["kind"], unit_id=row["unit_id"], area=row["area"])]
        if holding:
            entries.append((row["id"], "held", now, {
                "event": notice.event, "step": position.step, "loop": position.loop, "label": step.label,
                "targets": targets, "silences": holding}))
            if row["held_since"] is None:
                row = await store.update(conn, row["id"], held_since=now)
        elif targets:
            link = row["source"].get("url")
            requests.extend(NotificationRequest(
                alert_id=row["id"], dedup_key=row["dedup_key"], kind=row["kind"], severity=row["severity"],
                summary=row["summary"], unit_id=row["unit_id"], area=row["area"], event=notice.event,
                step_index=position.step, step_label=step.label, loop=position.loop, target=target,
                channels=tuple(step.channels), link=link, at=notice.due or now,
            ) for target in targets)
            entries.append((row["id"], "notified", now, {
                "event": notice.event, "step": position.step, "loop": position.loop, "label": step.label,
                "targets": targets, "channels": list(step.channels)}))
        rows.append(row)
    await enqueue_notifications(conn, requests)
    await timeline.record_many(conn, entries)
    return rows


def step_event(position: Position) -> str:
    """The first step of the first climb announces the alert; every later one escalates it."""
    return "raised" if position == Position(0, 0) else "escalated"


# --- firing a step -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Firing:
    """A step to take: ``position`` on ``row``'s ladder, due at ``due``, for ``reason`` (timeline)."""

    row: asyncpg.Record
    position: Position
    due: datetime
    reason: str


async def fire(conn: asyncpg.Connection, ctx: AlertsContext, row: asyncpg.Record, position: Position, *,
               due: datetime, now: datetime, reason: str) -> asyncpg.Record:
    """Take ``position``'s step: the alert is open again at that step, the next step is due its delay after
    ``due`` (when this one was due), a multi-ack step reminds at its ack timeout; timeline, event, notifications."""
    return (await fire_many(conn, ctx, [Firing(row, position, due, reason)], now=now))[0]


async def fire_many(conn: asyncpg.Connection, ctx: AlertsContext, firings: Sequence[Firing], *,
                    now: datetime) -> list[asyncpg.Record]:
    """``fire`` for many alerts (each locked, each once) in a fixed number of statements: one update of the
    alerts, one insert of timeline entries, the outbox and stream, the silences read once, one insert of
    delivery rows, one of their timeline entries, and their timers re-armed together. The policy each step
    comes from is the alert's frozen copy, already in its row."""
    plans = []
    for firing in firings:
        policy = policy_of(firing.row)
        step = policy.steps[firing.position.step]
        after = following(policy, firing.position)
        next_at = firing.due + policy.steps[after.step].delay if after is not None else None
        reminder_at = (firing.due + step.ack_timeout if step.requires_all_acks and step.ack_timeout is not None
                       else None)
        plans.append((firing, step, after, next_at, reminder_at))
    updated = await store.update_fired(conn, [
        (f.row["id"], f.position.step, f.position.loop, next_at, reminder_at)
        for f, _, _, next_at, reminder_at in plans], now)
    entries: list[tuple[str, str, datetime, dict[str, Any]]] = []
    events: list[tuple[asyncpg.Record, AlertLifecycle]] = []
    notices: list[Notice] = []
    for firing, step, after, next_at, _ in plans:
        row, position = updated[firing.row["id"]], firing.position
        entries.append((row["id"], "step", now, {
            "step": position.step, "loop": position.loop, "label": step.label, "targets": list(step.targets),
            "channels": list(step.channels), "requires_all_acks": step.requires_all_acks, "reason": firing.reason,
            "due": firing.due.isoformat(), "next_escalation_at": next_at.isoformat() if next_at else None}))
        if after is None:
            entries.append((row["id"], "ladder-exhausted", now, {"step": position.step, "loop": position.loop}))
        events.append((row, AlertEscalatedV1(**lifecycle(row, now), step=position.step, label=step.label,
                                             loop=position.loop, targets=list(step.targets))))
        notices.append(Notice(row, step_event(position), position, step, step.targets))
    await timeline.record_many(conn, entries)
    await publish_many(conn, ctx, events)
    rows = await notify_many(conn, notices, now=now)
    await arm_many(conn, rows)
    return rows


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
    await _act_on_due(ctx, conn, row, now=ctx.now())


async def on_alerts_due(ctx: AlertsContext, conn: asyncpg.Connection, timers: Sequence[Timer]) -> None:
    """Many alerts' timers at once (the timer runner holds their rows): the alerts are locked in one statement,
    and those whose only due thing is their next step by its delay — the common case, e.g. thousands of
    overdue tasks reaching 通报 together — fire together (``fire_many``); any other (a reminder due, an
    acknowledgement lapsing, the ladder's end) takes the one-alert path, in the same transaction."""
    rows = await store.lock_many(conn, [t.key for t in timers])
    now = ctx.now()
    firings: list[Firing] = []
    for timer in timers:
        row = rows.get(timer.key)
        if row is None or row["status"] == "resolved":
            continue
        due, reminder = row["next_escalation_at"], row["next_reminder_at"]
        if row["status"] == "open" and due is not None and due <= now and (reminder is None or reminder > now):
            after = following(policy_of(row), position_of(row))
            if after is not None:
                firings.append(Firing(row, after, due, "delay"))
                continue
        await _act_on_due(ctx, conn, row, now=now)
    if firings:
        await fire_many(conn, ctx, firings, now=now)


async def _act_on_due(ctx: AlertsContext, conn: asyncpg.Connection, row: asyncpg.Record, *,
                      now: datetime) -> None:
    """What a locked, unresolved alert's timer finds due: a reminder, the next step, or the end of an
    acknowledgement; then the timer is pointed at what comes next."""
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
            return  # fire() armed the timer
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
