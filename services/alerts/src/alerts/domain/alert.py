"""An alert and its state machine: what state it is in, which transitions it allows, and what each one changes.

States (``Status``): ``open`` (climbing its ladder, or waiting for its first step), ``acknowledged`` (the climb
stopped by a person; for a single-ack step with an ack timeout only until that lapses) and ``resolved`` (final).

Transitions, each a method returning the alert as it becomes (the use cases persist it and say so):

- ``start``: a newly raised alert takes its first step now, or waits for it (its delay);
- ``fired``: a step is taken (by its delay, a lapsed acknowledgement, or a person's "escalate now"): open at that
  step, the acknowledgement cleared, the next step due its delay after this one's due time, a multi-ack step
  reminding at its ack timeout;
- ``due`` / ``due_step``: what the alert's timer finds due — the next step, or at the ladder's end a lapsed
  acknowledgement that makes the alert open again (``lapsed``);
- ``reminded`` / ``reminders_stopped``: a multi-ack step's reminder to the targets not acknowledged yet;
- ``acknowledged``: open → acknowledged (``ack_targets`` says for whom a person acknowledges, and refuses);
- ``escalation_target``: where a person's "escalate now / to step N" goes (refused when resolved or at the end);
- ``resolved``: open or acknowledged → resolved (refused when resolved already);
- ``held`` / ``released``: a silence holds the alert's notifications, and lets them go;
- ``addressed_to``: a later trigger names people the alert does not address yet: its ladder widens to them.

The ladder is the policy frozen onto the alert when it was raised (``domain.policy``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from alerts.domain.policy import Policy, Position, Step, add_people, following
from alerts.domain.silence import Silence
from pingan_shared.refused import NotFound, Refused


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertRefused(Refused):
    """A change the alert's state does not allow (409 naming ``status``, or ``Authorization`` for a person who
    does not answer for a multi-ack step), or a step out of range (422)."""


class AlertNotFound(NotFound):
    """No such alert, or one the caller may not see: the same answer (404 naming ``alert_id``)."""

    def __init__(self) -> None:
        super().__init__("告警不存在", "alert_id")


def _conflict(detail: str, field: str) -> AlertRefused:
    return AlertRefused(409, detail, field)


def _invalid(detail: str, field: str) -> AlertRefused:
    return AlertRefused(422, detail, field)


@dataclass(frozen=True)
class Fire:
    """A step to take: ``position`` on the alert's ladder, due at ``due``, for ``reason`` (the timeline's)."""

    position: Position
    due: datetime
    reason: str


def step_event(position: Position) -> str:
    """The first step of the first climb announces the alert; every later one escalates it."""
    return "raised" if position == Position(0, 0) else "escalated"


@dataclass(frozen=True)
class Alert:
    id: str
    dedup_key: str
    kind: str
    severity: str
    summary: str
    unit_id: str | None
    area: str | None
    source: Mapping[str, Any]
    status: Status
    policy: Policy  # the copy frozen onto the alert when it was raised
    position: Position | None  # the last step fired; None: none yet
    step_fired_at: datetime | None
    next_escalation_at: datetime | None  # the next step, or the end of an acknowledgement
    next_reminder_at: datetime | None  # a multi-ack step's next reminder
    held_since: datetime | None  # a silence holds the notifications since then
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolve_reason: str
    updated_at: datetime
    # Where it is, in the directory's codes, as of its raising (``alerts.places``); all empty for an alert whose
    # place the directory did not know.
    place: str | None = None
    places: tuple[str, ...] = ()  # its place's lineage upwards, its unit's code in front when it has one
    township: str | None = None
    place_name: str | None = None
    unit_name: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Alert:
        """The alert as the store's row (table ``alerts``) holds it."""
        return cls(
            id=row["id"], dedup_key=row["dedup_key"], kind=row["kind"], severity=row["severity"],
            summary=row["summary"], unit_id=row["unit_id"], area=row["area"], source=row["source"],
            status=Status(row["status"]), policy=Policy.from_json(row["policy"]),
            position=None if row["current_step"] < 0 else Position(row["current_step"], row["loop"]),
            step_fired_at=row["step_fired_at"], next_escalation_at=row["next_escalation_at"],
            next_reminder_at=row["next_reminder_at"], held_since=row["held_since"], raised_at=row["raised_at"],
            acknowledged_at=row["acknowledged_at"], acknowledged_by=row["acknowledged_by"],
            resolved_at=row["resolved_at"], resolved_by=row["resolved_by"], resolve_reason=row["resolve_reason"],
            updated_at=row["updated_at"], place=row.get("place"), places=tuple(row.get("places") or ()),
            township=row.get("township"), place_name=row.get("place_name"), unit_name=row.get("unit_name"))

    # --- what it is -----------------------------------------------------------------------------------

    @property
    def current_step(self) -> int:
        """The index of the last step fired; -1 before the first (as stored)."""
        return -1 if self.position is None else self.position.step

    @property
    def loop(self) -> int:
        return 0 if self.position is None else self.position.loop

    @property
    def step(self) -> Step | None:
        """The step the alert stands at (None before its first)."""
        return None if self.position is None else self.policy.steps[self.position.step]

    @property
    def resolved(self) -> bool:
        return self.status is Status.RESOLVED

    @property
    def requires_all_acks(self) -> bool:
        """Whether the step it stands at is a multi-ack step (a summons, 约谈): every target acknowledges."""
        step = self.step
        return step is not None and step.requires_all_acks

    def next_position(self) -> Position | None:
        """The step after the one it stands at (the first, before any), or None at the ladder's end."""
        return following(self.policy, self.position)

    def wake_at(self) -> datetime | None:
        """When its timer should wake it: the earlier of the next step and the next reminder; None when nothing
        is due (or it is resolved)."""
        due = [t for t in (self.next_escalation_at, self.next_reminder_at) if t is not None]
        return None if self.resolved or not due else min(due)

    def holding(self, silences: Iterable[Silence]) -> list[str]:
        """The ids of those ``silences`` that match it (while any is active, its notifications are held)."""
        return [s.id for s in silences
                if s.matches(kind=self.kind, unit_id=self.unit_id, area=self.area, places=self.places)]

    def unanswered(self, acked: Collection[str]) -> list[str]:
        """Whom a notification of the current step goes to: its targets, and on a multi-ack step only those not
        in ``acked`` yet (the targets acknowledged for this step of this climb)."""
        step = self.step
        if step is None:
            return []
        return [t for t in step.targets if t not in acked] if step.requires_all_acks else list(step.targets)

    def addressed_to(self, people: Sequence[str], now: datetime) -> tuple[Alert, tuple[str, ...]]:
        """The alert addressed to ``people`` too: its ladder widened to them (``policy.add_people``), and the
        targets the step it stands at gains — those are told now; a later step reaches them as it reaches everyone.
        The alert itself and nobody when it addresses them all already (or its ladder names no ``{people}``)."""
        policy, gained = add_people(self.policy, people)
        if policy is self.policy:
            return self, ()
        now_told = gained[self.position.step] if self.position is not None else ()
        return replace(self, policy=policy, updated_at=now), now_told

    # --- climbing ----------------------------------------------------------------------------------------

    def start(self, now: datetime) -> Fire | Alert:
        """A newly raised alert: its first step to fire now (no delay), or the alert waiting for it. An alert whose
        ladder leads nowhere stays as it is (the auditor reports it)."""
        first = self.next_position()
        if first is None:
            return self
        due = now + self.policy.steps[first.step].delay
        if due <= now:
            return Fire(first, now, "raised")
        return replace(self, next_escalation_at=due, updated_at=now)

    def fired(self, position: Position, *, due: datetime, now: datetime) -> Alert:
        """``position``'s step taken: open again at that step, its acknowledgement cleared; the next step due its
        delay after ``due`` (so a late firing does not push the ladder back); a multi-ack step with an ack timeout
        reminds that long after ``due``."""
        step = self.policy.steps[position.step]
        after = following(self.policy, position)
        return replace(
            self, status=Status.OPEN, position=position, step_fired_at=now,
            next_escalation_at=due + self.policy.steps[after.step].delay if after is not None else None,
            next_reminder_at=(due + step.ack_timeout if step.requires_all_acks and step.ack_timeout is not None
                              else None),
            acknowledged_at=None, acknowledged_by=None, updated_at=now)

    def reminder_due(self, now: datetime) -> bool:
        return self.status is Status.OPEN and self.next_reminder_at is not None and self.next_reminder_at <= now

    def due(self, now: datetime) -> Fire | Alert | None:
        """What its next-escalation time brings at ``now``: the next step to fire (after a lapsed acknowledgement,
        or by its delay), or at the ladder's end the alert open again (``lapsed``); None when nothing is due."""
        due = self.next_escalation_at
        if self.resolved or due is None or due > now:
            return None
        after = self.next_position()
        if after is None:
            return self.lapsed(now)
        return Fire(after, due, "acknowledgement-expired" if self.status is Status.ACKNOWLEDGED else "delay")

    def due_step(self, now: datetime) -> Fire | None:
        """The common case of a due timer, fired in batches: an open alert whose next step is due by its delay,
        with no reminder due; None for anything else (which takes ``due``'s one-alert path)."""
        due, reminder = self.next_escalation_at, self.next_reminder_at
        if self.status is not Status.OPEN or due is None or due > now or (reminder is not None and reminder <= now):
            return None
        after = self.next_position()
        return None if after is None else Fire(after, due, "delay")

    def lapsed(self, now: datetime) -> Alert:
        """Nothing further to climb to, yet its next-escalation time came: a lapsed acknowledgement still makes
        the alert open again, and nothing more is due."""
        return replace(self, status=Status.OPEN, acknowledged_at=None, acknowledged_by=None,
                       next_escalation_at=None, updated_at=now)

    def reminders_stopped(self, now: datetime) -> Alert:
        return replace(self, next_reminder_at=None, updated_at=now)

    def reminded(self, now: datetime) -> Alert:
        """A reminder sent: the next counts from ``now`` (after an outage one goes out, not one per interval)."""
        step = self.step
        assert step is not None and step.ack_timeout is not None
        return replace(self, next_reminder_at=now + step.ack_timeout, updated_at=now)

    def reminding(self) -> tuple[Position, Step] | None:
        """The multi-ack step that reminds (with its reminder interval), or None: reminders stop."""
        position, step = self.position, self.step
        if position is None or step is None or not step.requires_all_acks or step.ack_timeout is None:
            return None
        return position, step

    def escalation_target(self, to_step: int | None) -> Position:
        """Where a person's "escalate now" (the next step) or "escalate to step N" (in the current climb) goes."""
        if self.resolved:
            raise _conflict("告警已关闭，不能升级（the alert is resolved）", "status")
        steps = len(self.policy.steps)
        if to_step is not None:
            if to_step >= steps:
                raise _invalid(f"升级阶梯只有 {steps} 级（to_step must be below {steps}）", "body.to_step")
            return Position(to_step, self.loop)
        after = self.next_position()
        if after is None:
            raise _conflict("已是最后一级，无法继续升级（no further step）", "status")
        return after

    # --- acknowledging -----------------------------------------------------------------------------------

    def ack_targets(self, identities: Collection[str]) -> list[str]:
        """The ladder targets a person with ``identities`` (``domain.access.identities``) acknowledges for: on a
        multi-ack step those of its targets they answer for (refused when none); otherwise one of their own, to
        record who acknowledged the step (none before the first step). Refused once the alert is resolved."""
        if self.resolved:
            raise _conflict("告警已关闭（the alert is resolved）", "status")
        step = self.step
        if step is not None and step.requires_all_acks:
            mine = [t for t in step.targets if t in identities]
            if not mine:
                raise _conflict(f"本级（{step.label}）须由通知对象逐一确认，您不在其中（acknowledged by its targets "
                                f"only: {', '.join(step.targets)}）", "Authorization")
            return mine
        return sorted(identities)[:1] if step is not None else []

    def ack_expiry(self, now: datetime) -> datetime | None:
        """When a single-ack acknowledgement made ``now`` lapses (the climb resumes): the step's ack timeout."""
        step = self.step
        return now + step.ack_timeout if step is not None and step.ack_timeout is not None else None

    def acknowledged(self, by: str, now: datetime) -> Alert:
        """open → acknowledged: the climb stops (a single-ack step until its ack timeout; a multi-ack step, every
        target having acknowledged, for good); reminders stop."""
        if self.resolved:
            raise _conflict("告警已关闭（the alert is resolved）", "status")
        return replace(self, status=Status.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by,
                       next_escalation_at=None if self.requires_all_acks else self.ack_expiry(now),
                       next_reminder_at=None, updated_at=now)

    # --- closing and holding -----------------------------------------------------------------------------

    def resolve(self, *, by: str | None, reason: str, now: datetime) -> Alert:
        """open or acknowledged → resolved: nothing is due any more. Refused when resolved already."""
        if self.resolved:
            raise _conflict("告警已关闭（already resolved）", "status")
        return replace(self, status=Status.RESOLVED, resolved_at=now, resolved_by=by, resolve_reason=reason,
                       next_escalation_at=None, next_reminder_at=None, updated_at=now)

    def held(self, now: datetime) -> Alert:
        """A silence holds its notifications (since the first one held)."""
        return self if self.held_since is not None else replace(self, held_since=now)

    def released(self, now: datetime) -> Alert:
        return replace(self, held_since=None, updated_at=now)
