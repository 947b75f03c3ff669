"""What a round (轮次) is and may do: a pure state machine, judged by DEVICE time.

    pending ──first scan──▶ in_progress ──every checkpoint scanned──▶ completed
       │                        │
       │ (window close)         │ (window close, checkpoints unscanned)
       ▼                        ▼
    expired ──late batch──▶ incomplete ──late batch fills the rest──▶ completed

A scan counts for a round when its device time lies in [starts_at, closes_at) (the slot plus the checkpoint
grace). Offline batches arrive hours late and in any order, so everything a round shows is derived from the
set of its scans (earliest device time per checkpoint), never from their arrival order; a late batch after the
close moves an expired or incomplete round on and resolves the signals it fills. Each function returns the
effects the caller turns into events and alert signals in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class RoundState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


STATE_NAMES = {
    RoundState.PENDING: "待巡", RoundState.IN_PROGRESS: "巡逻中", RoundState.COMPLETED: "已完成",
    RoundState.INCOMPLETE: "未完成（漏巡）", RoundState.EXPIRED: "未巡（过期）", RoundState.CANCELLED: "已取消",
}


class Effect(StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"
    NOT_STARTED = "not_started"                # raise the not-started signal
    NOT_STARTED_RESOLVED = "not_started_resolved"
    MISSED = "missed"                          # raise a 漏巡 signal for ``checkpoint_id``
    MISSED_RESOLVED = "missed_resolved"


@dataclass(frozen=True)
class ScanFact:
    """What a round needs of an accepted scan to count it."""

    team_id: str
    scan_id: str
    checkpoint_id: str
    device_time: datetime


@dataclass(frozen=True)
class RoundEffect:
    effect: Effect
    checkpoint_id: str | None = None


@dataclass
class Round:
    """A round's mutable state as the store hands it over (locked) and takes it back."""

    id: str
    starts_at: datetime
    ends_at: datetime
    start_due_at: datetime
    closes_at: datetime
    state: RoundState
    checkpoint_ids: Sequence[str]                       # route order
    first_scan_at: dict[str, datetime | None]           # per checkpoint, device time
    missed_raised: set[str] = field(default_factory=set)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    not_started_raised: bool = False
    closed: bool = False

    def counts(self, device_time: datetime) -> bool:
        return self.starts_at <= device_time < self.closes_at and self.state is not RoundState.CANCELLED

    @property
    def scanned(self) -> list[str]:
        return [c for c in self.checkpoint_ids if self.first_scan_at.get(c) is not None]

    @property
    def unscanned(self) -> list[str]:
        return [c for c in self.checkpoint_ids if self.first_scan_at.get(c) is None]


def attach(round_: Round, checkpoint_id: str, device_time: datetime) -> list[RoundEffect]:
    """A scan of ``checkpoint_id`` at ``device_time`` (inside the round's window) joins the round."""
    assert round_.counts(device_time) and checkpoint_id in round_.first_scan_at
    effects: list[RoundEffect] = []
    previous = round_.first_scan_at[checkpoint_id]
    newly_filled = previous is None
    if previous is None or device_time < previous:
        round_.first_scan_at[checkpoint_id] = device_time
    if round_.started_at is None or device_time < round_.started_at:
        round_.started_at = device_time
    if round_.state in (RoundState.PENDING, RoundState.EXPIRED):
        effects.append(RoundEffect(Effect.STARTED))
        round_.state = RoundState.INCOMPLETE if round_.state is RoundState.EXPIRED else RoundState.IN_PROGRESS
        if round_.not_started_raised:
            round_.not_started_raised = False
            effects.append(RoundEffect(Effect.NOT_STARTED_RESOLVED))
        if round_.state is RoundState.INCOMPLETE and round_.unscanned:
            effects.append(RoundEffect(Effect.INCOMPLETE))  # expired → incomplete: the gap is smaller now
    if newly_filled and checkpoint_id in round_.missed_raised:
        round_.missed_raised.discard(checkpoint_id)
        effects.append(RoundEffect(Effect.MISSED_RESOLVED, checkpoint_id))
    if not round_.unscanned and round_.state is not RoundState.COMPLETED:
        round_.state = RoundState.COMPLETED
        effects.append(RoundEffect(Effect.COMPLETED))
    if round_.state is RoundState.COMPLETED:
        # device time of the scan that completed it: the latest first scan (earlier scans may arrive later)
        round_.completed_at = max(t for t in round_.first_scan_at.values() if t is not None)
    return effects


def start_due(round_: Round) -> list[RoundEffect]:
    """At ``start_due_at``: a round without any scan has not started — raise it at once, not at the close."""
    if round_.state is RoundState.PENDING and not round_.not_started_raised:
        round_.not_started_raised = True
        return [RoundEffect(Effect.NOT_STARTED)]
    return []


def close(round_: Round) -> list[RoundEffect]:
    """At ``closes_at``: judge the round once; every unscanned checkpoint is missed (漏巡)."""
    if round_.closed or round_.state is RoundState.CANCELLED:
        return []
    round_.closed = True
    if round_.state is RoundState.COMPLETED:
        return []
    effects = [RoundEffect(Effect.EXPIRED if round_.state is RoundState.PENDING else Effect.INCOMPLETE)]
    round_.state = RoundState.EXPIRED if round_.state is RoundState.PENDING else RoundState.INCOMPLETE
    for checkpoint_id in round_.unscanned:
        round_.missed_raised.add(checkpoint_id)
        effects.append(RoundEffect(Effect.MISSED, checkpoint_id))
    return effects


@dataclass(frozen=True)
class Candidate:
    """A round a scan might belong to: its id, slot and whether the scanned checkpoint is still open in it."""

    round_id: str
    starts_at: datetime
    ends_at: datetime
    closes_at: datetime
    checkpoint_open: bool


def choose_round(candidates: Sequence[Candidate], device_time: datetime) -> str | None:
    """Which of the team's rounds (on a route holding the checkpoint) a scan at ``device_time`` joins.

    Slots are back to back and the checkpoint grace lets a round's window reach into the next slot: a scan
    there fills the earlier round if that round still needs the checkpoint, else it belongs to its own slot.
    """
    if len(candidates) == 1:  # the usual case: one round of the team's plan holds the checkpoint at that time
        only = candidates[0]
        return only.round_id if only.starts_at <= device_time < only.closes_at else None
    inside = sorted((c for c in candidates if c.starts_at <= device_time < c.closes_at),
                    key=lambda c: c.starts_at)
    if not inside:
        return None
    for candidate in inside:
        if candidate.checkpoint_open:
            return candidate.round_id
    in_slot = [c for c in inside if c.starts_at <= device_time < c.ends_at]
    return (in_slot or inside)[-1].round_id
