"""Turning how the search ended into a ``Solution``: the roster and its objective split by soft rule kind, read
from the optimising search, else from the first roster, else no roster (status unknown) with the bound.

The objective is the roster's price evaluated from its assignments (``roster.solver.price``), never CP-SAT's
objective value, which counts slack variables as a solution left them and could exceed the true price."""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from roster.solver.answer import Solution, Status
from roster.solver.price import priced
from roster.solver.search import Searched
from roster.solver.variables import RosterVariables


def read_solution(built: RosterVariables, searched: Searched, started: float) -> Solution:
    solver, code, first = searched.solver, searched.code, searched.first
    has_objective = built.model.has_objective()
    # every cost is ≥ 0, so 0 is a bound too: a weak relaxation's negative one (seen at 600 members) says less
    bound = max(0.0, solver.best_objective_bound) if has_objective else 0.0
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        status = Status.OPTIMAL if code == cp_model.OPTIMAL else Status.FEASIBLE
        return priced(built.problem, built.assignments(solver.boolean_value), status, bound, started)
    if searched.start:
        # The search found nothing within the limit (a loaded machine, a short limit): the templates' roster it
        # started from keeps every rule (a template is only made where it does) and is the best so far.
        return priced(built.problem, searched.start, Status.FEASIBLE, bound, started)
    if first:
        # The optimising search found nothing within the limit: the first roster is still a roster.
        first_roster = built.assignments(lambda var: bool(first[var.index]))
        return priced(built.problem, first_roster, Status.FEASIBLE, bound, started)
    return Solution(
        status=Status.UNKNOWN,
        assignments=(),
        objective=None,
        best_bound=solver.best_objective_bound if has_objective else None,
        wall_time_s=time.monotonic() - started,
    )
