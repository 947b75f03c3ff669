"""The soft rules that are not about a crew, as weighted objective terms: a person's requests, fairness of the
load among people (this period's and with history, cumulative over the year), and stability of a re-plan.

The terms are kept per rule kind, so a solution can report its objective split by kind.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from roster.solver.model import Fairness, Request, Stability
from roster.solver.variables import RosterVariables, RuleInstance


def request(built: RosterVariables, rule: Request) -> None:
    p = built.person_index[rule.person]
    vs = built.day_vars(p, rule.day, None if rule.shift is None else frozenset({rule.shift}))
    built.penalise("Request", vs[0] if vs else None, rule.weight, when_true=not rule.wants)


def fairness(built: RosterVariables, rule: Fairness) -> None:
    """The spread (most loaded − least loaded) costs its weight; ``max_period_spread`` is hard."""
    m = built.model
    people = built.people_of(rule.people)
    if len(people) < 2:
        return
    counts = [
        cp_model.LinearExpr.sum([v for d in range(built.days) for v in built.day_vars(p, d, rule.shifts)])
        for p in people
    ]
    history = [int(rule.history.get(built.problem.people[p].id, 0)) for p in people]
    hi_bound = built.days + max(history)
    if rule.weight or rule.max_period_spread is not None or rule.period_weight:
        pmax = m.new_int_var(0, built.days, "fair_pmax")
        pmin = m.new_int_var(0, built.days, "fair_pmin")
        for c in counts:
            m.add(pmax >= c)
            m.add(pmin <= c)
        if rule.max_period_spread is not None:
            ct = m.add(pmax - pmin <= rule.max_period_spread)
            built.enforce(ct, RuleInstance(rule))
        # Without history the cumulative spread is this period's spread: both weights apply to it.
        period_weight = rule.period_weight + (0 if any(history) else rule.weight)
        if period_weight:
            built.objective_terms["Fairness"] += [(pmax, period_weight), (pmin, -period_weight)]
    if rule.weight and any(history):
        cmax = m.new_int_var(min(history), hi_bound, "fair_cmax")
        cmin = m.new_int_var(min(history), hi_bound, "fair_cmin")
        for c, h in zip(counts, history, strict=True):
            m.add(cmax >= c + h)
            m.add(cmin <= c + h)
        built.objective_terms["Fairness"] += [(cmax, rule.weight), (cmin, -rule.weight)]


def stability(built: RosterVariables, rule: Stability) -> None:
    """Each assignment that differs from the published roster (added or dropped) costs the weight."""
    previous = {
        (built.person_index[a.person], a.day, built.shift_index[a.shift])
        for a in rule.previous
        if a.person in built.person_index and a.shift in built.shift_index and 0 <= a.day < built.days
    }
    for p, rows in enumerate(built.x):
        for d, row in enumerate(rows):
            for s, v in enumerate(row):
                built.penalise("Stability", v, rule.weight, when_true=(p, d, s) not in previous)
    for p, d, s in previous:
        if built.x[p][d][s] is None:
            built.objective_offset["Stability"] += rule.weight
