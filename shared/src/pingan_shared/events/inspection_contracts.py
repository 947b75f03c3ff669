"""inspection's events: cycles and their phases, circulated notices, rectification tasks.

Nothing here is published while a cycle is covert: a finding becomes visible (as a task in a notice) only
with ``inspection.notice-issued`` at the phase change. Cycle events are keyed by cycle id, task events by
task id, so each aggregate's events keep their order (and carry the outbox's per-key sequence).
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from pingan_shared.events.contracts import Contract, RefusalProblem


class CycleOpenedV1(Contract):
    """``inspection.cycle-opened``: a 211 cycle was scheduled (its covert phase starts at ``starts_at``)."""

    cycle_id: str
    name: str
    start_date: date
    starts_at: AwareDatetime
    covert_ends_at: AwareDatetime
    closes_at: AwareDatetime
    day_basis: str = Field(description="calendar or working: how the cycle counts deadline days")
    unit_count: int
    provisional: bool = Field(default=False, description=(
        "the close was counted in working days through a year whose holiday arrangement is not known yet: it is "
        "counted again (and announced by inspection.deadline-moved) when the year's notice is loaded"))


class CyclePhaseChangedV1(Contract):
    """``inspection.cycle-phase-changed``: covert → rectification (findings released) or → closed."""

    cycle_id: str
    phase: str = Field(description="rectification or closed")
    at: AwareDatetime
    released_tasks: int = 0
    notices: int = 0


class NoticeIssuedV1(Contract):
    """``inspection.notice-issued`` (key = notice id): a circulated notice (通报) to one unit, or tasks merged
    into its open one."""

    notice_id: str
    number: str = Field(description="e.g. 〔2026〕12号")
    unit_id: str
    cycle_id: str | None
    task_ids: list[str] = Field(description="the tasks this issue adds to the notice")
    at: AwareDatetime


class TaskOpenedV1(Contract):
    """``inspection.task-opened``: a rectification task now stands against a unit."""

    task_id: str
    unit_id: str
    cycle_id: str | None
    notice_number: str | None
    category: str
    severity: str
    deadline: AwareDatetime
    origin: str = Field(description="finding or hazard")
    provisional: bool = Field(default=False, description=(
        "the deadline was counted in working days through a year whose holiday arrangement is not known yet"))


class TaskReminderV1(Contract):
    """``inspection.task-reminder`` (催办): a deadline is near."""

    task_id: str
    unit_id: str
    deadline: AwareDatetime
    days_left: int = Field(description="working or calendar days, as the task's basis counts")
    day_basis: str
    at: AwareDatetime


class TaskOverdueV1(Contract):
    """``inspection.task-overdue``: not verified at its deadline. Published once per task."""

    task_id: str
    unit_id: str
    deadline: AwareDatetime
    listed: bool = Field(description="under listed supervision (挂牌督办)")
    at: AwareDatetime


class TaskVerifiedV1(Contract):
    """``inspection.task-verified``: a revisit verified the rectification; resolves an overdue task."""

    task_id: str
    unit_id: str
    deadline: AwareDatetime
    on_time: bool
    was_overdue: bool
    at: AwareDatetime


class DeadlineMovedV1(Contract):
    """``inspection.deadline-moved``: a year's holiday notice was loaded and a deadline counted in working days
    through it was counted again (a cycle's close, a task's deadline)."""

    entity_type: str = Field(description="cycle or task")
    entity_id: str
    unit_id: str | None = None
    previous: AwareDatetime
    deadline: AwareDatetime
    year: int = Field(description="the year whose notice was loaded")
    at: AwareDatetime


class HazardRefusedV1(Contract):
    """inspection → patrol (``inspection.hazard-refused``; key = hazard id): a patrol hazard names what the directory
    does not hold (a unit no organisation of the directory is). Nothing is lost: the hazard is a triage task
    (``task_id``) for an inspector all the same; patrol shows the problems on the hazard so that its organiser can
    fix the directory or report with the right unit. A hazard inspection cannot read at all goes to inspection's
    dead letters instead."""

    hazard_id: str = Field(min_length=1, max_length=100)
    task_id: str = Field(min_length=1, max_length=200, description="the triage task the hazard went to")
    problems: list[RefusalProblem] = Field(min_length=1, max_length=10)
    at: AwareDatetime
