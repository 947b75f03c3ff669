"""The solver's entry point, ``solve``: build the CP-SAT model of a problem, search it within the time limit,
and answer with the best roster found, or, when there is none, with why (a minimal conflicting set of rules).

The model is ``roster_model``, the search ``search``, reading the roster back ``readout``, and explaining an
infeasible problem ``explain``.
"""

from __future__ import annotations

import time

from roster.solver.answer import ProgressCallback, Solution, Status
from roster.solver.explain import explain
from roster.solver.large import solve_large, variables_per_day
from roster.solver.model import Problem
from roster.solver.neighbourhood import separable
from roster.solver.readout import read_solution
from roster.solver.roster_model import RosterModel
from roster.solver.search import LARGE_MODEL, NoRoster, search
from roster.solver.variables import check_ids


def estimated_size(problem: Problem) -> float:
    """About how many person × day × duty variables the whole model would have, without building it."""
    return variables_per_day(problem) * problem.horizon.days


def solve(
    problem: Problem,
    *,
    time_limit_s: float,
    workers: int = 2,
    on_progress: ProgressCallback | None = None,
) -> Solution:
    """Solve ``problem`` within ``time_limit_s``: the best roster found, with the bound; an explanation
    (a minimal conflicting set of rules) when there is none."""
    started = time.monotonic()
    check_ids(problem)  # before any path: the pieces' path reads the rules before any model would say this
    if separable(problem) and estimated_size(problem) > LARGE_MODEL:
        solution = solve_large(
            problem, started=started, time_limit_s=time_limit_s, workers=workers, on_progress=on_progress
        )
        if solution is not None:
            return solution
    built = RosterModel(problem)
    searched = search(built, started=started, time_limit_s=time_limit_s, workers=workers, on_progress=on_progress)
    if isinstance(searched, NoRoster):
        return _infeasible(problem, started, time_limit_s)
    return read_solution(built, searched, started)


def _infeasible(problem: Problem, started: float, time_limit_s: float) -> Solution:
    """Explain within what is left of the time limit (at least a second)."""
    remaining = max(1.0, time_limit_s - (time.monotonic() - started))
    return Solution(
        status=Status.INFEASIBLE,
        assignments=(),
        objective=None,
        best_bound=None,
        wall_time_s=time.monotonic() - started,
        explanation=explain(problem, time_limit_s=remaining),
    )
