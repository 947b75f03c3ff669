"""A rectification task (整改任务) and what may happen to it.

    triage ──assign──▶ open ──submit (with evidence)──▶ submitted ──revisit: verified──▶ verified
      │                 ▲                                   │
      │                 └──────── revisit: rejected ────────┘   (deadline unchanged)
      └──assign to a unit that has the hazard open──▶ merged (into that unit's open task)

Overdue is not a state but a fact that happens once: at its deadline a task not yet verified is overdue, and
stays in whatever state it is (a unit may still rectify; the later verification resolves the overdue alert).
Verified before its deadline is on time; at or after it, late (the deadline is the instant it falls overdue).

Once overdue, a task is no longer listed by hand (挂牌督办 with a new deadline would leave it overdue and due at
once): the alert ladder escalates it (通报 → 挂牌督办 → 约谈 → 问责), each step recorded on the task as
accountability, and it is no longer reminded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from inspection.domain.calendar import DayBasis
from pingan_shared.refused import Refused


class TaskStatus(StrEnum):
    TRIAGE = "triage"
    OPEN = "open"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    MERGED = "merged"  # a triage task that went to a unit already rectifying the same hazard: it lives on there


# What each field's refusal says in Chinese, before the rule's own words.
_REASONS = {"evidence": "需提交整改佐证材料", "text": "请说明整改情况", "remaining": "请说明仍需整改的问题",
            "deadline": "期限须晚于当前时间", "days": "期限须晚于当前时间", "status": "任务当前状态不允许此操作"}


class TaskRuleBroken(Refused):
    """The task cannot do this now. ``field`` names what to change; ``conflict`` says the state is at fault
    (409) rather than the request (422). Answered as it is (``pingan_shared.refused``): Chinese first, the
    rule's own words after."""

    def __init__(self, reason: str, *, field: str = "status", conflict: bool = True) -> None:
        chinese = _REASONS.get(field, "")
        detail = f"{chinese}（{reason}）" if chinese and not reason.startswith(chinese) else reason
        super().__init__(409 if conflict else 422, detail, field)
        self.reason = reason
        self.conflict = conflict


@dataclass(frozen=True)
class Task:
    id: str
    unit_id: str | None
    status: TaskStatus
    deadline: datetime
    day_basis: DayBasis
    listed: bool = False
    overdue_at: datetime | None = None
    verified_at: datetime | None = None
    rejections: int = 0

    @property
    def is_open(self) -> bool:
        return self.status not in (TaskStatus.VERIFIED, TaskStatus.MERGED)


def assign(task: Task, unit_id: str) -> Task:
    if task.status is not TaskStatus.TRIAGE:
        raise TaskRuleBroken(f"only a task in triage can be assigned; this one is {task.status.value}")
    return replace(task, unit_id=unit_id, status=TaskStatus.OPEN)


def submit(task: Task, *, text: str, evidence: list[str]) -> Task:
    if not evidence:
        raise TaskRuleBroken("evidence is required before a rectification can be submitted", field="evidence",
                             conflict=False)
    if not text.strip():
        raise TaskRuleBroken("say what was rectified", field="text", conflict=False)
    if task.status is TaskStatus.SUBMITTED:
        raise TaskRuleBroken("a rectification is already waiting for its revisit")
    if task.status is not TaskStatus.OPEN:
        raise TaskRuleBroken(f"a {task.status.value} task takes no rectification")
    return replace(task, status=TaskStatus.SUBMITTED)


def verify(task: Task, *, now: datetime) -> Task:
    if task.status is not TaskStatus.SUBMITTED:
        raise TaskRuleBroken(f"nothing submitted to revisit; the task is {task.status.value}")
    return replace(task, status=TaskStatus.VERIFIED, verified_at=now)


def reject(task: Task, *, remaining: str) -> Task:
    """The revisit found the rectification incomplete: back to the unit, with what remains, same deadline."""
    if not remaining.strip():
        raise TaskRuleBroken("say what remains to be rectified", field="remaining", conflict=False)
    if task.status is not TaskStatus.SUBMITTED:
        raise TaskRuleBroken(f"nothing submitted to revisit; the task is {task.status.value}")
    return replace(task, status=TaskStatus.OPEN, rejections=task.rejections + 1)


OVERDUE_NOT_LISTED = "任务已逾期，督办由预警升级处理 (an overdue task is escalated by the alert ladder)"


def list_under_supervision(task: Task, *, deadline: datetime, now: datetime) -> Task:
    """挂牌督办: the task gets its own deadline (e.g. two months for a residential compound). Not once it is
    overdue: the alert ladder's 挂牌督办 step then takes over (recorded as accountability)."""
    if not task.is_open:
        raise TaskRuleBroken(f"a {task.status.value} task cannot be listed")
    if task.overdue_at is not None:
        raise TaskRuleBroken(OVERDUE_NOT_LISTED)
    if deadline <= now:
        raise TaskRuleBroken("the deadline must be in the future", field="deadline", conflict=False)
    return replace(task, listed=True, deadline=deadline)


def falls_overdue(task: Task, *, now: datetime) -> bool:
    """True once, when the deadline has come and the task is still not verified."""
    return task.is_open and task.overdue_at is None and now >= task.deadline


def on_time(task: Task) -> bool:
    """Verified before the deadline: at the deadline the task falls overdue (``falls_overdue``)."""
    return task.verified_at is not None and task.verified_at < task.deadline
