"""Solving a problem too large for one CP-SAT model within the limit (a year of 150 people and 32 duty types is over
a million variables: the whole model finds no roster in a minute on two cores, and takes gigabytes trying):

1. **A first roster in seconds**: each person's own year, found alone by a dynamic programme, the days and duties
   the covers still need preferred (``roster.solver.template``). Covers are soft, so that is a roster.
2. **Improve** until the limit (large-neighbourhood search): a window of weeks for a group of people is freed, the
   rest held, and solved again by CP-SAT from the current roster as its hint (``roster.solver.neighbourhood``); a
   cheaper piece replaces it. Windows are drawn where the covers cost most; the pieces grow while they solve to
   optimality early and shrink while they run out of time.

The roster is priced directly at every step (``roster.solver.price``), so what is reported is what it costs; the
bound is the trivial one (cover nobody can give), as no search of the whole model runs.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from roster.solver.answer import Progress, ProgressCallback, Solution, Status
from roster.solver.model import Assignment, Problem
from roster.solver.neighbourhood import Cutter, Neighbourhood, Piece, Roster
from roster.solver.price import never_taken, price, priced, trivial_bound
from roster.solver.roster_model import RosterModel
from roster.solver.search import hint, light_presolve
from roster.solver.template import templates

PIECE_VARIABLES = 2_000
"""Person × day × duty variables a piece starts at (then larger while pieces solve to optimality early, smaller
while they run out of time)."""
PIECE_SECONDS = 0.2
"""Time for one piece: many small improvements beat a few large ones within a minute."""
SEED = 20261207


@dataclass
class Incumbent:
    """The roster so far and its price."""

    roster: dict[tuple[str, int], str]
    cost: int
    solutions: int = 0


def variables_per_day(problem: Problem) -> float:
    """About how many variables one day of everyone makes (people × the duties each may take)."""
    never = never_taken(problem)
    return max(1.0, sum(1 for p in problem.people for s in problem.shifts if (p.id, s.id) not in never))


def solve_large(
    problem: Problem, *, started: float, time_limit_s: float, workers: int, on_progress: ProgressCallback | None
) -> Solution | None:
    """The best roster found in pieces within the limit, or None when building failed (solve it whole)."""
    deadline = started + time_limit_s
    cutter = Cutter(problem)
    per_day = variables_per_day(problem)
    first = templates(problem)
    if first is None:
        return None
    roster = {(a.person, a.day): a.shift for a in first.assignments}
    for i, pid in enumerate(first.missing):  # a contract the programme found no path for: that year by CP-SAT
        left = (deadline - time.monotonic()) / 2  # half of what is left, shared by those still to place
        if left < 0.5:
            return None
        piece = cutter.cut(Neighbourhood((pid,), 0, cutter.days), roster)
        found, _ = solve_piece(piece, (), left / (len(first.missing) - i), workers)
        if found is None:
            return None
        roster.update({(a.person, a.day): a.shift for a in piece.to_roster(found)})
    best = Incumbent(roster, sum(price(problem, _assignments(roster)).values()), 1)
    bound = trivial_bound(problem)
    if on_progress is not None:
        on_progress(Progress(best.cost, float(bound), time.monotonic() - started, best.solutions))
    improve(cutter, best, per_day, bound, deadline, workers, started, on_progress)
    assignments = tuple(sorted(_assignments(best.roster), key=lambda a: (a.day, a.person)))
    status = Status.OPTIMAL if best.cost <= bound else Status.FEASIBLE
    return priced(problem, assignments, status, float(bound), started)


def improve(
    cutter: Cutter,
    best: Incumbent,
    per_day: float,
    bound: int,
    deadline: float,
    workers: int,
    started: float,
    on_progress: ProgressCallback | None,
) -> None:
    """Large-neighbourhood search until the deadline or the bound: re-solve a piece, keep it when it is cheaper."""
    rng = random.Random(SEED)
    people = [p.id for p in cutter.problem.people]
    mondays = cutter.mondays()
    target = float(PIECE_VARIABLES)
    while best.cost > bound and (left := deadline - time.monotonic()) > 0.3:
        weeks = max(1, min(len(mondays), round(rng.uniform(1, 3))))
        costs = _weekly_cover_cost(cutter, best.roster, mondays)
        first_index = rng.choices(range(len(mondays)), weights=[c + 1 for c in costs])[0]
        first = mondays[first_index]
        end = mondays[first_index + weeks] if first_index + weeks < len(mondays) else cutter.days
        span = max(1, end - first)
        group = max(1, min(len(people), int(target / (per_day / len(people) * span))))
        chosen = tuple(rng.sample(people, group))
        piece = cutter.cut(Neighbourhood(chosen, first, end), best.roster)
        current = _local(piece, best.roster)
        limit = min(left, PIECE_SECONDS)
        t0 = time.monotonic()
        found, optimal = solve_piece(piece, current, limit, workers)
        took = time.monotonic() - t0
        target = target * 1.15 if optimal and took < limit / 2 else target / 1.15 if not optimal else target
        target = min(max(target, 500.0), 200_000.0)
        if found is None:
            continue
        before = _piece_price(piece, current)
        after = _piece_price(piece, found)
        if after < before:
            for (pid, day) in [k for k in best.roster if k[0] in set(chosen) and first <= k[1] < end]:
                del best.roster[(pid, day)]
            best.roster.update({(a.person, a.day): a.shift for a in piece.to_roster(found)})
            best.cost -= before - after
            best.solutions += 1
            if on_progress is not None:
                on_progress(Progress(best.cost, float(bound), time.monotonic() - started, best.solutions))


def _weekly_cover_cost(cutter: Cutter, roster: Roster, mondays: list[int]) -> list[int]:
    """What the covers cost in each week starting on one of ``mondays`` (where a piece is most worth re-solving)."""
    crews = Counter((day, shift) for (_, day), shift in roster.items())
    week_of = {}
    for i, monday in enumerate(mondays):
        end = mondays[i + 1] if i + 1 < len(mondays) else cutter.days
        week_of.update({d: i for d in range(monday, end)})
    costs = [0] * len(mondays)
    for day, covers in cutter.covers.items():
        for c in covers:
            n = crews.get((day, c.shift), 0)
            costs[week_of[day]] += (c.under_weight or 0) * max(0, c.required - n) + (c.over_weight or 0) * max(
                0, n - c.required
            )
    return costs


def solve_piece(
    piece: Piece, current: Iterable[Assignment], time_limit_s: float, workers: int
) -> tuple[list[Assignment] | None, bool]:
    """The piece solved within the limit from ``current`` (local days) as hint: its roster in local days (None if
    none was found), and whether it is optimal."""
    built = RosterModel(piece.problem, fixed=piece.fixed)
    hint(built, current)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
    solver.parameters.num_workers = max(1, workers)
    light_presolve(solver)
    code = solver.solve(built.model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    return list(built.assignments(solver.boolean_value)), code == cp_model.OPTIMAL


def _local(piece: Piece, roster: Roster) -> list[Assignment]:
    """The piece's people's duties on its days, in its days."""
    days = piece.problem.horizon.days
    return [
        Assignment(p.id, d, shift)
        for p in piece.problem.people
        for d in range(days)
        if (shift := roster.get((p.id, d + piece.lo))) is not None
    ]


def _piece_price(piece: Piece, local: list[Assignment]) -> int:
    """What the piece's free days cost (its rules price nothing else; the held margin is left out)."""
    first, end = piece.free.first - piece.lo, piece.free.end - piece.lo
    return sum(price(piece.problem, [a for a in local if first <= a.day < end]).values())


def _assignments(roster: Roster) -> list[Assignment]:
    return [Assignment(pid, day, shift) for (pid, day), shift in roster.items()]
