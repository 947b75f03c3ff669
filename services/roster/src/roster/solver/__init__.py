"""The roster solver: rules as data (``model``), solved with OR-Tools CP-SAT (``engine``). Pure: no I/O.

The problem is ``model`` (its calendar ``horizon``), the answer ``answer``. ``engine.solve`` builds the CP-SAT
model (``roster_model``: ``variables`` and the rules' encodings in ``crew_constraints``, ``person_constraints``,
``soft_constraints``), runs the ``search`` and reads the roster back (``readout``), or ``explain``s why there
is none.

Use: ``from roster.solver import solve, Problem, ...``; ``solve(problem, time_limit_s=10)`` returns a
``Solution`` (assignments, status, objective, bound, and for an infeasible problem an ``Explanation``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from roster.solver.answer import Conflict, Explanation, Progress, Solution, Status
from roster.solver.horizon import Horizon
from roster.solver.model import (
    Assignment,
    Composition,
    Cover,
    Fairness,
    ForbiddenSuccession,
    MaxConsecutive,
    MaxShareFromOneGroup,
    MaxWeekends,
    MinConsecutive,
    MinConsecutiveDaysOff,
    Person,
    Problem,
    Request,
    Rule,
    ShiftCount,
    ShiftType,
    Stability,
    TotalMinutes,
    Unavailable,
    WeeklyCount,
)

if TYPE_CHECKING:
    from roster.solver.engine import solve


def __getattr__(name: str) -> Any:
    # The engine (OR-Tools CP-SAT, which imports pandas) is loaded at the first solve, not with the package: it is
    # over a second of every roster process's start, API replicas and operator commands included, that most never use.
    if name == "solve":
        from roster.solver.engine import solve

        return solve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Assignment",
    "Composition",
    "Conflict",
    "Cover",
    "Explanation",
    "Fairness",
    "ForbiddenSuccession",
    "Horizon",
    "MaxConsecutive",
    "MaxShareFromOneGroup",
    "MaxWeekends",
    "MinConsecutive",
    "MinConsecutiveDaysOff",
    "Person",
    "Problem",
    "Progress",
    "Request",
    "Rule",
    "ShiftCount",
    "ShiftType",
    "Solution",
    "Stability",
    "Status",
    "TotalMinutes",
    "Unavailable",
    "WeeklyCount",
    "solve",
]
