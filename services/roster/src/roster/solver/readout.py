"""Turning how the search ended into a ``Solution``: the roster and its objective split by soft rule kind, read
from the optimising search, else from the first roster, else no roster (status unknown) with the bound."""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from roster.solver.answer import Solution, Status
from roster.solver.search import Searched
from roster.solver.variables import RosterVariables


def read_solution(built: RosterVariables, searched: Searched, started: float) -> Solution:
    solver, code, first = searched.solver, searched.code, searched.first
    has_objective = built.model.has_objective()
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        status = Status.OPTIMAL if code == cp_model.OPTIMAL else Status.FEASIBLE
        objective = round(solver.objective_value) if has_objective else 0
        bound = solver.best_objective_bound if has_objective else 0.0
        return Solution(
            status=status,
            assignments=built.assignments(solver.boolean_value),
            objective=objective,
            best_bound=bound,
            wall_time_s=time.monotonic() - started,
            penalties=built.penalties(solver.value),
        )
    if first:
        # The optimising search found nothing within the limit: the first roster is still a roster.
        penalties = built.penalties(lambda var: first[var.index])
        return Solution(
            status=Status.FEASIBLE,
            assignments=built.assignments(lambda var: bool(first[var.index])),
            objective=sum(penalties.values()),
            best_bound=solver.best_objective_bound,
            wall_time_s=time.monotonic() - started,
            penalties=penalties,
        )
    return Solution(
        status=Status.UNKNOWN,
        assignments=(),
        objective=None,
        best_bound=solver.best_objective_bound if has_objective else None,
        wall_time_s=time.monotonic() - started,
    )
