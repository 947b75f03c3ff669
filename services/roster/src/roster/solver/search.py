"""How CP-SAT searches a roster model within the time limit: where the search starts (the published roster
as hint when re-planning; for a large model, a first roster of the hard rules alone), the solver's parameters
(workers, the LP of the full-problem worker, a light presolve for large models), and progress reports.

``search`` runs those phases and says how they ended; ``roster.solver.readout`` turns that into a ``Solution``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from roster.solver.answer import Progress, ProgressCallback
from roster.solver.greedy import guess
from roster.solver.model import Assignment, Stability
from roster.solver.price import price
from roster.solver.template import templates
from roster.solver.variables import RosterVariables

LARGE_MODEL = 40_000
"""Person × day × duty variables above which the whole model's objective-driven search may find no roster
within a minute (measured: none in 60 s on 364 days × 150 people × 32 duty types, on 2 workers)…"""
FIRST_ROSTER_SHARE = 0.6
"""…so a first roster is searched without the objective (found in 10–30 s there on a loaded 2-core machine)
within this share of the time limit, and the optimising search starts from it as its hint: at that size a
roster at all matters more than the last improvements."""


@dataclass(frozen=True)
class NoRoster:
    """The search proved that no roster keeps every hard rule."""


@dataclass(frozen=True)
class Searched:
    """How the optimising search ended: CP-SAT's status ``code`` and its ``solver`` (to read the roster and
    bound from), and ``first``, the values of every variable in the first roster when one was searched for and
    found (the answer if the optimising search found nothing), else empty."""

    code: cp_model.CpSolverStatus
    solver: cp_model.CpSolver
    first: list[int]
    start: tuple[Assignment, ...] = ()
    """The templates' roster the search started from, when it is one (the answer if the search found nothing)."""


def search(
    built: RosterVariables,
    *,
    started: float,
    time_limit_s: float,
    workers: int,
    on_progress: ProgressCallback | None,
) -> Searched | NoRoster:
    """Search ``built`` until ``started + time_limit_s``, reporting each improving roster to ``on_progress``."""
    previous = [a for rule in built.problem.rules if isinstance(rule, Stability) for a in rule.previous]
    large = built.size() > LARGE_MODEL
    first: list[int] = []
    start: tuple[Assignment, ...] = ()
    if previous:
        hint(built, previous)  # re-planning starts from the published roster
    elif (made := templates(built.problem)) is not None and not made.missing:
        hint(built, made.assignments)  # each person's own year (milliseconds): a roster from the first second
        start = tuple(made.assignments)
    else:
        hint(built, guess(built.problem))  # crews filled day by day: a roster, or near one, to repair
        if large and built.model.has_objective():
            until = started + time_limit_s * FIRST_ROSTER_SHARE - time.monotonic()
            outcome, first = first_roster(built, until, workers)
            if outcome == "infeasible":
                return NoRoster()
            if first and on_progress is not None:
                found = sum(price(built.problem, built.assignments(lambda var: bool(first[var.index]))).values())
                on_progress(Progress(found, 0.0, time.monotonic() - started, 0))
    solver = cp_model.CpSolver()
    solver_parameters(solver, time_limit_s - (time.monotonic() - started), workers)
    if large:
        light_presolve(solver)
    reporter = ProgressReporter(on_progress, started) if on_progress is not None else None
    code = solver.solve(built.model, reporter)
    if code == cp_model.INFEASIBLE:
        return NoRoster()
    return Searched(code, solver, first, start)


def hint(built: RosterVariables, assignments: Iterable[Assignment]) -> None:
    """Start the search from a known roster (a previous one, a greedy one)."""
    chosen = {(a.person, a.day, a.shift) for a in assignments}
    people, shifts = built.problem.people, built.problem.shifts
    for p, rows in enumerate(built.x):
        for d, row in enumerate(rows):
            for s, v in enumerate(row):
                if v is not None:
                    built.model.add_hint(v, (people[p].id, d, shifts[s].id) in chosen)


def solver_parameters(solver: cp_model.CpSolver, time_limit_s: float, workers: int) -> None:
    """Time limit and workers. On two workers CP-SAT runs one full-problem search beside the interleaved LNS
    and local search; the default one (``default_lp``) leaves the cover objective's bound near the trivial LP
    value (208 against an optimum of 828 on Curtois 2 after 20 s), while the full linear relaxation with its
    cuts (``max_lp``) proves instances 1–3 optimal in 1–3 s and closes most of the gap on the rest. So the
    full-problem worker is ``max_lp``."""
    params = solver.parameters
    params.max_time_in_seconds = max(0.01, time_limit_s)
    params.num_workers = max(1, workers)
    if workers <= 1:
        params.linearization_level = 2
    else:
        params.ignore_subsolvers.extend(["default_lp", "fixed", "no_lp"])
        params.extra_subsolvers.append("max_lp")


def light_presolve(solver: cp_model.CpSolver) -> None:
    """Large models: presolve once round, without probing or symmetry detection (a full presolve of 364 days ×
    150 people × 32 duty types took ~15 s of a 60 s budget, twice when there are two solves)."""
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.max_presolve_iterations = 1
    solver.parameters.symmetry_level = 0


def first_roster(built: RosterVariables, time_limit_s: float, workers: int) -> tuple[str, list[int]]:
    """Find any roster of the hard rules alone and hint the model with it. Returns "found" with the values of
    every variable, or "infeasible" / "unknown" with none."""
    if time_limit_s <= 0.5:
        return "unknown", []
    feasibility = built.model.clone()
    feasibility.clear_objective()
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = max(1, workers)
    if workers > 1:
        # Without an objective the LP only slows the full-problem worker down; restarts without it found a
        # first roster of generated 364 × 150 × 32 instances in 10–29 s where the default took 10 to over 40.
        solver.parameters.ignore_subsolvers.extend(["default_lp", "fixed"])
        solver.parameters.extra_subsolvers.append("quick_restart_no_lp")
    light_presolve(solver)
    code = solver.solve(feasibility)
    if code == cp_model.INFEASIBLE:
        return "infeasible", []
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "unknown", []
    solution_hint = built.model.proto.solution_hint
    solution_hint.vars.clear()
    solution_hint.values.clear()
    values = list(solver.response_proto.solution)
    solution_hint.vars.extend(range(len(values)))
    solution_hint.values.extend(values)
    return "found", values


class ProgressReporter(cp_model.CpSolverSolutionCallback):
    """Reports each improving roster CP-SAT finds as ``Progress``, counting them."""

    def __init__(self, on_progress: ProgressCallback, started: float) -> None:
        super().__init__()
        self.on_progress = on_progress
        self.started = started
        self.count = 0

    def on_solution_callback(self) -> None:
        self.count += 1
        self.on_progress(
            Progress(
                objective=round(self.objective_value),
                best_bound=max(0.0, self.best_objective_bound),  # every cost is ≥ 0: a negative bound says less
                elapsed_s=time.monotonic() - self.started,
                solutions=self.count,
            )
        )
