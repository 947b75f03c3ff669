"""What a solve answers: the status, the roster, its objective and bound, an explanation when there is no
roster, and the progress reported on the way. Plain frozen data, like the problem it answers."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from roster.solver.model import Assignment, Problem


class Status(enum.StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Conflict:
    """One rule in a minimal conflicting set, in an organiser's words, with whom and when it concerns.

    ``kind`` is the rule's class name (``Cover``, ``Unavailable``, ``MaxConsecutive``…), ``text`` the Chinese
    sentence (e.g. "第5天（周五）夜间巡逻需要3人"), ``people`` and ``days`` what it names."""

    kind: str
    text: str
    people: tuple[str, ...] = ()
    days: tuple[int, ...] = ()
    shifts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """Why no roster exists: ``conflicts`` together cannot all hold; dropping any one of them (when
    ``minimal``) makes the rest satisfiable. ``summary`` is the whole thing in one Chinese paragraph, e.g.
    "周五夜间巡逻需要3人，但只有2人可用：张三请假…"."""

    summary: str
    conflicts: tuple[Conflict, ...]
    minimal: bool


@dataclass(frozen=True)
class Solution:
    status: Status
    assignments: tuple[Assignment, ...]
    objective: int | None
    best_bound: float | None
    wall_time_s: float
    explanation: Explanation | None = None
    """Set when ``status`` is INFEASIBLE."""
    penalties: Mapping[str, int] = field(default_factory=dict)
    """The objective split by soft rule kind (``Cover``, ``Request``, ``Fairness``, ``Stability``)."""


@dataclass(frozen=True)
class Progress:
    """Reported for each improving roster during a solve."""

    objective: int
    best_bound: float
    elapsed_s: float
    solutions: int


ProgressCallback = Callable[[Progress], None]


class Solve(Protocol):
    """The entry point, ``roster.solver.solve``."""

    def __call__(
        self,
        problem: Problem,
        *,
        time_limit_s: float,
        workers: int = 2,
        on_progress: ProgressCallback | None = None,
    ) -> Solution: ...
