"""The price of a roster, evaluated directly from its assignments: what each soft rule costs, by kind.

This, not the solver's objective value, is what a solution reports. CP-SAT's value counts its slack variables as
the solution left them (an under-cover ``u`` with ``crew + u >= required`` may be larger than the shortfall in a
solution found late or by a feasibility search), so it can exceed the roster's true price: the benchmark priced one
of our rosters 7518 where we had said 7520. Evaluating the roster itself says what it costs.

``trivial_bound`` is a lower bound on any roster's price that needs no search: cover nobody eligible can give.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable

from roster.solver.answer import Solution, Status
from roster.solver.model import Assignment, Cover, Fairness, Problem, Request, ShiftCount, Stability, Unavailable


def price(problem: Problem, assignments: Iterable[Assignment]) -> dict[str, int]:
    """What the roster costs per soft rule kind (kinds with no soft rule are left out)."""
    roster = list(assignments)
    on: dict[tuple[str, int], str] = {(a.person, a.day): a.shift for a in roster}
    crews = Counter((a.day, a.shift) for a in roster)
    costs: dict[str, int] = defaultdict(int)
    for rule in problem.rules:
        if isinstance(rule, Cover):
            if rule.under_weight is None and not rule.over_weight:
                continue
            n = crews.get((rule.day, rule.shift), 0)
            costs["Cover"] += (rule.under_weight or 0) * max(0, rule.required - n)
            costs["Cover"] += (rule.over_weight or 0) * max(0, n - rule.required)
        elif isinstance(rule, Request):
            taken = on.get((rule.person, rule.day))
            granted_shift = taken is not None and (rule.shift is None or taken == rule.shift)
            costs["Request"] += rule.weight * (granted_shift != rule.wants)
        elif isinstance(rule, Fairness):
            costs["Fairness"] += _fairness(problem, rule, roster)
        elif isinstance(rule, Stability):
            costs["Stability"] += rule.weight * len(_valid(problem, rule.previous) ^ set(roster))
    return dict(costs)


def priced(
    problem: Problem, assignments: tuple[Assignment, ...], status: Status, bound: float, started: float
) -> Solution:
    """A roster found as the answer: its objective and penalties priced from it (never a solver's own value)."""
    penalties = price(problem, assignments)
    return Solution(
        status=status,
        assignments=assignments,
        objective=sum(penalties.values()),
        best_bound=bound,
        wall_time_s=time.monotonic() - started,
        penalties=penalties,
    )


def _fairness(problem: Problem, rule: Fairness, roster: list[Assignment]) -> int:
    """As the model prices it: the period's spread and, with history, the cumulative spread."""
    people = [p.id for p in problem.people if rule.people is None or p.id in rule.people]
    if len(people) < 2:
        return 0
    counts = Counter(a.person for a in roster if rule.shifts is None or a.shift in rule.shifts)
    period = [counts.get(pid, 0) for pid in people]
    history = [int(rule.history.get(pid, 0)) for pid in people]
    cost = 0
    period_weight = rule.period_weight + (0 if any(history) else rule.weight)
    if rule.weight or rule.max_period_spread is not None or rule.period_weight:
        cost += period_weight * (max(period) - min(period))
    if rule.weight and any(history):
        cumulative = [c + h for c, h in zip(period, history, strict=True)]
        cost += rule.weight * (max(cumulative) - min(cumulative))
    return cost


def _valid(problem: Problem, previous: Iterable[Assignment]) -> set[Assignment]:
    people = {p.id for p in problem.people}
    shifts = {s.id for s in problem.shifts}
    return {a for a in previous if a.person in people and a.shift in shifts and 0 <= a.day < problem.horizon.days}


def never_taken(problem: Problem) -> set[tuple[str, str]]:
    """(person, duty) pairs a contract rules out for the whole period ("at most 0" of a duty type)."""
    everyone = [p.id for p in problem.people]
    never: set[tuple[str, str]] = set()
    for rule in problem.rules:
        if isinstance(rule, ShiftCount) and rule.maximum == 0:
            shifts = rule.shifts if rule.shifts is not None else [s.id for s in problem.shifts]
            for pid in rule.people if rule.people is not None else everyone:
                never.update((pid, sid) for sid in shifts)
    return never


def trivial_bound(problem: Problem) -> int:
    """A lower bound on any roster's price: each cover's shortfall that even everyone eligible and available
    could not fill, and each request no roster can grant (a wish for a duty the person may never take)."""
    blocked_days = {(r.person, r.day, r.shift) for r in problem.rules if isinstance(r, Unavailable)}
    never = never_taken(problem)
    skills = {s.id: s.skills for s in problem.shifts}
    held = {p.id: p.skills for p in problem.people}

    def may(pid: str, day: int, shift: str) -> bool:
        return (
            skills[shift] <= held[pid]
            and (pid, shift) not in never
            and (pid, day, None) not in blocked_days
            and (pid, day, shift) not in blocked_days
        )

    bound = 0
    for rule in problem.rules:
        if isinstance(rule, Cover) and rule.under_weight:
            able = sum(1 for pid in held if may(pid, rule.day, rule.shift))
            bound += rule.under_weight * max(0, rule.required - able)
        elif (
            isinstance(rule, Request) and rule.wants and rule.shift is not None and rule.person in held
            and not may(rule.person, rule.day, rule.shift)
        ):
            bound += rule.weight
    return bound
