"""The rules on one person's days, as CP-SAT constraints: unavailability, forbidden successions, counts per
period and per week, total minutes, run lengths (too long, too short) and weekends worked.

Run-length rules are clauses over ``work``: a too-short run is forbidden pattern by pattern (off, on×l, off for
l < minimum), which propagates far better than reified sums; a too-long run is a sliding-window sum. When the
model is built to explain infeasibility, a rule's constraints on one person share one assumption literal.
"""

from __future__ import annotations

from ortools.sat.python import cp_model
from ortools.sat.python import cp_model_helper as cmh

from roster.solver.model import (
    ForbiddenSuccession,
    MaxConsecutive,
    MaxWeekends,
    MinConsecutive,
    MinConsecutiveDaysOff,
    PersonSet,
    ShiftCount,
    TotalMinutes,
    Unavailable,
    WeeklyCount,
)
from roster.solver.variables import RosterVariables, RuleInstance


def unavailable(built: RosterVariables, rule: Unavailable) -> None:
    """Only when assuming: otherwise the unavailable day has no variables at all."""
    if built.assumptions:
        p = built.person_index[rule.person]
        vs = (
            built.day_vars(p, rule.day, None)
            if rule.shift is None
            else built.day_vars(p, rule.day, frozenset({rule.shift}))
        )
        if vs:
            built.enforce(
                built.model.add(cp_model.LinearExpr.sum(vs) == 0), RuleInstance(rule, rule.person, rule.day)
            )


def forbidden_succession(built: RosterVariables, rule: ForbiddenSuccession) -> None:
    """One succession on its own, one clause per person and day (the assumable form)."""
    first, then = built.shift_index[rule.first], built.shift_index[rule.then]
    for p in built.people_of(rule.people):
        pid = built.problem.people[p].id
        lit = built.person_literal(rule, pid)
        for d in range(built.days - 1):
            a, b = built.x[p][d][first], built.x[p][d + 1][then]
            if a is not None and b is not None:
                clause = [a.Not(), b.Not()] + ([lit.Not()] if lit is not None else [])
                built.model.add_bool_or(clause)


def successions(built: RosterVariables, first: str, thens: list[str], people: PersonSet) -> None:
    """All the duties that may not follow ``first`` at once: ``first`` on day d and any of them on day d+1 are
    at most one true (the day-d+1 duties already exclude each other), one constraint instead of one per pair."""
    f = built.shift_index[first]
    t = [built.shift_index[then] for then in thens]
    for p in built.people_of(people):
        rows = built.x[p]
        for d in range(built.days - 1):
            a = rows[d][f]
            if a is None:
                continue
            after = [v for s in t if (v := rows[d + 1][s]) is not None]
            if len(after) == 1:
                built.model.add_bool_or([a.Not(), after[0].Not()])
            elif after:
                built.model.add_at_most_one([a, *after])


def shift_count(built: RosterVariables, rule: ShiftCount) -> None:
    m = built.model
    single = rule.shifts is not None and len(rule.shifts) == 1
    one = built.shift_index[next(iter(rule.shifts))] if rule.shifts is not None and single else None
    for p in built.people_of(rule.people):
        if one is not None:
            total = [v for row in built.x[p] if (v := row[one]) is not None]
        else:
            total = [v for d in range(built.days) for v in built.day_vars(p, d, rule.shifts)]
        instance = RuleInstance(rule, person=built.problem.people[p].id)
        if rule.maximum is not None and len(total) > rule.maximum:
            built.enforce(m.add(cp_model.LinearExpr.sum(total) <= rule.maximum), instance)
        if rule.minimum > 0:
            built.enforce(m.add(cp_model.LinearExpr.sum(total) >= rule.minimum), instance)


def weekly_count(built: RosterVariables, rule: WeeklyCount) -> None:
    weeks = built.problem.horizon.weeks()
    for p in built.people_of(rule.people):
        lit = built.person_literal(rule, built.problem.people[p].id)
        for week in weeks:
            vs = [v for d in week for v in built.day_vars(p, d, rule.shifts)]
            if len(vs) > rule.maximum:
                ct = built.model.add(cp_model.LinearExpr.sum(vs) <= rule.maximum)
                if lit is not None:
                    ct.only_enforce_if(lit)


def total_minutes(built: RosterVariables, rule: TotalMinutes) -> None:
    m = built.model
    for p in built.people_of(rule.people):
        timed: list[cp_model.IntVar] = []
        coefs: list[int] = []
        for d in range(built.days):
            for s, v in enumerate(built.x[p][d]):
                if v is not None and built.problem.shifts[s].minutes:
                    timed.append(v)
                    coefs.append(built.problem.shifts[s].minutes)
        expr = cp_model.LinearExpr.weighted_sum(timed, coefs)
        instance = RuleInstance(rule, person=built.problem.people[p].id)
        if rule.maximum is not None and sum(coefs) > rule.maximum:
            built.enforce(m.add(expr <= rule.maximum), instance)
        if rule.minimum > 0:
            built.enforce(m.add(expr >= rule.minimum), instance)


def max_consecutive(built: RosterVariables, rule: MaxConsecutive) -> None:
    for p in built.people_of(rule.people):
        pid = built.problem.people[p].id
        lit = built.person_literal(rule, pid)
        on = [built.day_vars(p, d, rule.shifts) for d in range(built.days)]
        before = max(0, rule.before.get(pid, 0))
        k = rule.maximum
        # Windows of k+1 days, the first ones reaching back into the previous period's ``before``.
        for start in range(-min(before, k), built.days - k):
            lo = max(0, start)
            inside = [v for d in range(lo, start + k + 1) for v in on[d]]
            limit = k - (lo - start)
            if limit < 0:
                limit = 0
            if len(inside) > limit:
                ct = built.model.add(cp_model.LinearExpr.sum(inside) <= limit)
                if lit is not None:
                    ct.only_enforce_if(lit)


def min_consecutive(built: RosterVariables, rule: MinConsecutive | MinConsecutiveDaysOff) -> None:
    """Runs of working days (``MinConsecutive``) or of days off (``MinConsecutiveDaysOff``)."""
    working = isinstance(rule, MinConsecutive)
    for p in built.people_of(rule.people):
        lit = built.person_literal(rule, built.problem.people[p].id)
        _forbid_short_runs(built, p, rule.minimum, working, lit)


def _forbid_short_runs(
    built: RosterVariables, p: int, minimum: int, working: bool, lit: cp_model.IntVar | None
) -> None:
    """Forbid each too-short run that starts after day 0 and ends before the horizon does: the pattern
    (other, this×l, other) for l < minimum, as one clause each."""
    if minimum <= 1:
        return
    true_lit: list[cp_model.IntVar | None] = built.work[p]

    def on(d: int) -> cp_model.IntVar | cmh.Literal | bool:
        # the literal "day d is of the kind the run is made of"; a missing variable is a fixed day off
        w = true_lit[d]
        if w is None:
            return not working
        return w if working else w.Not()

    for start in range(1, built.days):
        for length in range(1, minimum):
            end = start + length  # first day after the run
            if end >= built.days:
                break
            clause: list[cp_model.IntVar | cmh.Literal] = []
            satisfied = False
            for d, want in [(start - 1, False)] + [(d, True) for d in range(start, end)] + [(end, False)]:
                v = on(d)
                # The clause forbids "v == want" for every position: add its negation.
                if isinstance(v, bool):
                    if v != want:
                        satisfied = True
                        break
                    continue
                clause.append(v.Not() if want else v)
            if satisfied:
                continue
            if lit is not None:
                clause.append(lit.Not())
            if not clause:
                # The pattern is forced by fixed days: infeasible as stated.
                built.model.add_bool_or([built.model.new_constant(0)])
            else:
                built.model.add_bool_or(clause)


def max_weekends(built: RosterVariables, rule: MaxWeekends) -> None:
    m = built.model
    weekends = built.problem.horizon.weekends()
    for p in built.people_of(rule.people):
        flags: list[cp_model.IntVar] = []
        for days in weekends:
            ws = [w for d in days if (w := built.work[p][d]) is not None]
            if len(ws) == 1:
                flags.append(ws[0])
            elif ws:
                flag = m.new_bool_var(f"wk{p}_{days[0]}")
                for w in ws:
                    m.add_implication(w, flag)
                m.add_bool_or(ws).only_enforce_if(flag)
                flags.append(flag)
        if len(flags) > rule.maximum:
            ct = m.add(cp_model.LinearExpr.sum(flags) <= rule.maximum)
            built.enforce(ct, RuleInstance(rule, person=built.problem.people[p].id))
