"""CP-SAT model of a ``Problem``, the solve loop with progress and time limit, and the infeasibility path.

Variables: one boolean ``x[p][d][s]`` per person, day and duty the person may take (a skill they lack or a day
they are unavailable leaves no variable at all, which keeps large problems small), and ``work[p][d]`` = the sum
of a day's ``x`` (so at most one duty a day). Run-length rules are clauses over ``work``: a too-short run is
forbidden pattern by pattern (off, on×l, off for l < minimum), which propagates far better than reified sums;
a too-long run is a sliding-window sum. Soft rules add weighted terms to one linear objective.

When a problem is infeasible, ``explain`` rebuilds it with one assumption literal per rule instance (per
person, per day and duty), asks CP-SAT for a sufficient set of assumptions, and shrinks that set with a
deletion filter to a minimal conflicting set, rendered in Chinese by ``roster.solver.explain``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model
from ortools.sat.python import cp_model_helper as cmh

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
    PersonSet,
    Problem,
    Progress,
    ProgressCallback,
    Request,
    Rule,
    ShiftCount,
    ShiftSet,
    Solution,
    Stability,
    Status,
    TotalMinutes,
    Unavailable,
    WeeklyCount,
)

LinearTerm = tuple[cp_model.IntVar, int]


@dataclass(frozen=True)
class RuleInstance:
    """One assumable piece of a hard rule: the rule, and the person/day/duty it was applied to."""

    rule: Rule
    person: str | None = None
    day: int | None = None
    shift: str | None = None


def attribute_of(person: Person, attribute: str) -> frozenset[str]:
    """A person's values for a composition attribute: role, organisation, or skill:<name> / skills."""
    if attribute == "role":
        return frozenset() if person.role is None else frozenset({person.role})
    if attribute == "organisation":
        return frozenset() if person.organisation is None else frozenset({person.organisation})
    if attribute == "skills":
        return person.skills
    if attribute.startswith("skill:"):
        name = attribute.removeprefix("skill:")
        return frozenset({name}) if name in person.skills else frozenset()
    raise ValueError(f"unknown composition attribute {attribute!r}")


class RosterModel:
    """The CP-SAT model of one problem. With ``assumptions`` every hard rule instance is enforced only under
    its own literal (for explaining infeasibility), and unavailable days keep their variables."""

    def __init__(self, problem: Problem, *, assumptions: bool = False, objective: bool = True) -> None:
        self.problem = problem
        self.assumptions = assumptions
        self.model = cp_model.CpModel()
        self.literals: dict[cp_model.IntVar, RuleInstance] = {}
        self.objective_terms: dict[str, list[LinearTerm]] = defaultdict(list)
        self.objective_offset: dict[str, int] = defaultdict(int)
        horizon = problem.horizon
        self.days = horizon.days
        self.person_index = {p.id: i for i, p in enumerate(problem.people)}
        self.shift_index = {s.id: i for i, s in enumerate(problem.shifts)}
        n_people, n_shifts = len(problem.people), len(problem.shifts)
        self._check_ids()

        # Unavailability removes variables outright unless it has to be assumable.
        blocked: set[tuple[int, int, int]] = set()
        if not assumptions:
            for rule in problem.rules:
                if isinstance(rule, Unavailable):
                    p = self.person_index[rule.person]
                    shifts = range(n_shifts) if rule.shift is None else [self.shift_index[rule.shift]]
                    for s in shifts:
                        blocked.add((p, rule.day, s))
                elif isinstance(rule, ShiftCount) and rule.maximum == 0:
                    # "at most 0 of this duty" (the benchmark's way of saying a contract excludes a shift type)
                    for p in self.people_of(rule.people):
                        for s in self.shifts_of(rule.shifts):
                            blocked.update((p, d, s) for d in range(self.days))
        eligible = [
            [shift.skills <= person.skills for shift in problem.shifts] for person in problem.people
        ]
        self.eligible = eligible
        new_bool = self.model.new_bool_var
        self.x: list[list[list[cp_model.IntVar | None]]] = []
        self.work: list[list[cp_model.IntVar | None]] = []
        for p in range(n_people):
            rows: list[list[cp_model.IntVar | None]] = []
            work_row: list[cp_model.IntVar | None] = []
            for d in range(self.days):
                row: list[cp_model.IntVar | None] = [
                    new_bool(f"x{p}_{d}_{s}") if eligible[p][s] and (p, d, s) not in blocked else None
                    for s in range(n_shifts)
                ]
                present = [v for v in row if v is not None]
                if not present:
                    work_row.append(None)
                elif len(present) == 1:
                    work_row.append(present[0])
                else:
                    w = new_bool(f"w{p}_{d}")
                    self.model.add(sum(present) == w)
                    work_row.append(w)
                rows.append(row)
            self.x.append(rows)
            self.work.append(work_row)

        self.cover_days: dict[int, set[int]] = defaultdict(set)
        for rule in problem.rules:
            if isinstance(rule, Cover) and rule.required > 0:
                self.cover_days[self.shift_index[rule.shift]].add(rule.day)
        successions: dict[tuple[str, PersonSet], list[str]] = defaultdict(list)
        for rule in problem.rules:
            if isinstance(rule, ForbiddenSuccession) and not assumptions:
                successions[(rule.first, rule.people)].append(rule.then)
            else:
                self._add(rule)
        for (first, people), thens in successions.items():
            self._successions(first, thens, people)
        if objective:
            terms = [t for ts in self.objective_terms.values() for t in ts]
            offset = sum(self.objective_offset.values())
            if terms:
                self.model.minimize(
                    cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms]) + offset
                )

    # ------------------------------------------------------------------------------------------ helpers

    def _check_ids(self) -> None:
        for rule in self.problem.rules:
            for attr in ("person", "shift", "first", "then"):
                value = getattr(rule, attr, None)
                if isinstance(value, str):
                    known = self.person_index if attr == "person" else self.shift_index
                    if value not in known:
                        raise ValueError(f"{type(rule).__name__} names unknown {attr} {value!r}")
            day = getattr(rule, "day", None)
            if isinstance(day, int) and not 0 <= day < self.days:
                raise ValueError(f"{type(rule).__name__} day {day} outside the horizon 0..{self.days - 1}")

    def people_of(self, people: PersonSet) -> list[int]:
        if people is None:
            return list(range(len(self.problem.people)))
        return [self.person_index[pid] for pid in people if pid in self.person_index]

    def shifts_of(self, shifts: ShiftSet) -> list[int]:
        if shifts is None:
            return list(range(len(self.problem.shifts)))
        return [self.shift_index[sid] for sid in shifts if sid in self.shift_index]

    def day_vars(self, p: int, d: int, shifts: ShiftSet) -> list[cp_model.IntVar]:
        """The variables that make person p "on one of ``shifts``" on day d (0 or 1 of them is true)."""
        if shifts is None:
            w = self.work[p][d]
            return [] if w is None else [w]
        return [v for s in self.shifts_of(shifts) if (v := self.x[p][d][s]) is not None]

    def _enforce(self, ct: cp_model.Constraint, instance: RuleInstance) -> None:
        if self.assumptions:
            lit = self.model.new_bool_var(f"a{len(self.literals)}")
            self.literals[lit] = instance
            ct.only_enforce_if(lit)

    def _penalise(self, kind: str, var: cp_model.IntVar | None, weight: int, *, when_true: bool) -> None:
        """Add ``weight`` when ``var`` is true (``when_true``) or false. A missing variable is constant 0."""
        if weight == 0:
            return
        if var is None:
            if not when_true:
                self.objective_offset[kind] += weight
            return
        if when_true:
            self.objective_terms[kind].append((var, weight))
        else:
            self.objective_offset[kind] += weight
            self.objective_terms[kind].append((var, -weight))

    # ---------------------------------------------------------------------------------------- the rules

    def _add(self, rule: Rule) -> None:
        m = self.model
        if isinstance(rule, Cover):
            s = self.shift_index[rule.shift]
            crew = [v for p in range(len(self.problem.people)) if (v := self.x[p][rule.day][s]) is not None]
            size = cp_model.LinearExpr.sum(crew)
            instance = RuleInstance(rule, day=rule.day, shift=rule.shift)
            if rule.maximum is not None:
                self._enforce(m.add(size <= rule.maximum), instance)
            if rule.under_weight is None:
                self._enforce(m.add(size >= rule.required), instance)
            else:
                under = m.new_int_var(0, rule.required, f"under{rule.day}_{s}")
                m.add(size + under >= rule.required)
                self.objective_terms["Cover"].append((under, rule.under_weight))
            if rule.over_weight:
                over = m.new_int_var(0, max(0, len(crew) - rule.required), f"over{rule.day}_{s}")
                m.add(size - over <= rule.required)
                self.objective_terms["Cover"].append((over, rule.over_weight))
        elif isinstance(rule, Composition):
            for s in self.shifts_of(rule.shifts):
                days = sorted(rule.days) if rule.days is not None else sorted(self.cover_days[s])
                members = [
                    p for p, person in enumerate(self.problem.people)
                    if attribute_of(person, rule.attribute) & rule.values
                ]
                for d in days:
                    count = cp_model.LinearExpr.sum(
                        [v for p in members if (v := self.x[p][d][s]) is not None]
                    )
                    instance = RuleInstance(rule, day=d, shift=self.problem.shifts[s].id)
                    if rule.min_count is not None:
                        self._enforce(m.add(count >= rule.min_count), instance)
                    if rule.max_count is not None:
                        self._enforce(m.add(count <= rule.max_count), instance)
        elif isinstance(rule, MaxShareFromOneGroup):
            groups: dict[str, list[int]] = defaultdict(list)
            for p, person in enumerate(self.problem.people):
                for g in attribute_of(person, rule.attribute):
                    groups[g].append(p)
            for s in self.shifts_of(rule.shifts):
                days = sorted(rule.days) if rule.days is not None else sorted(self.cover_days[s])
                for d in days:
                    crew = [v for p in range(len(self.problem.people)) if (v := self.x[p][d][s]) is not None]
                    instance = RuleInstance(rule, day=d, shift=self.problem.shifts[s].id)
                    for members in groups.values():
                        group = [v for p in members if (v := self.x[p][d][s]) is not None]
                        if group:
                            ct = m.add(
                                rule.denominator * cp_model.LinearExpr.sum(group)
                                <= rule.numerator * cp_model.LinearExpr.sum(crew)
                            )
                            self._enforce(ct, instance)
        elif isinstance(rule, Unavailable):
            if self.assumptions:
                p = self.person_index[rule.person]
                vs = (
                    self.day_vars(p, rule.day, None)
                    if rule.shift is None
                    else self.day_vars(p, rule.day, frozenset({rule.shift}))
                )
                if vs:
                    self._enforce(m.add(cp_model.LinearExpr.sum(vs) == 0), RuleInstance(rule, rule.person, rule.day))
        elif isinstance(rule, ForbiddenSuccession):
            first, then = self.shift_index[rule.first], self.shift_index[rule.then]
            for p in self.people_of(rule.people):
                pid = self.problem.people[p].id
                lit = self._person_literal(rule, pid)
                for d in range(self.days - 1):
                    a, b = self.x[p][d][first], self.x[p][d + 1][then]
                    if a is not None and b is not None:
                        clause = [a.Not(), b.Not()] + ([lit.Not()] if lit is not None else [])
                        m.add_bool_or(clause)
        elif isinstance(rule, ShiftCount):
            single = rule.shifts is not None and len(rule.shifts) == 1
            one = self.shift_index[next(iter(rule.shifts))] if rule.shifts is not None and single else None
            for p in self.people_of(rule.people):
                if one is not None:
                    total = [v for row in self.x[p] if (v := row[one]) is not None]
                else:
                    total = [v for d in range(self.days) for v in self.day_vars(p, d, rule.shifts)]
                instance = RuleInstance(rule, person=self.problem.people[p].id)
                if rule.maximum is not None and len(total) > rule.maximum:
                    self._enforce(m.add(cp_model.LinearExpr.sum(total) <= rule.maximum), instance)
                if rule.minimum > 0:
                    self._enforce(m.add(cp_model.LinearExpr.sum(total) >= rule.minimum), instance)
        elif isinstance(rule, WeeklyCount):
            weeks = self.problem.horizon.weeks()
            for p in self.people_of(rule.people):
                lit = self._person_literal(rule, self.problem.people[p].id)
                for week in weeks:
                    vs = [v for d in week for v in self.day_vars(p, d, rule.shifts)]
                    if len(vs) > rule.maximum:
                        ct = m.add(cp_model.LinearExpr.sum(vs) <= rule.maximum)
                        if lit is not None:
                            ct.only_enforce_if(lit)
        elif isinstance(rule, TotalMinutes):
            for p in self.people_of(rule.people):
                timed: list[cp_model.IntVar] = []
                coefs: list[int] = []
                for d in range(self.days):
                    for s, v in enumerate(self.x[p][d]):
                        if v is not None and self.problem.shifts[s].minutes:
                            timed.append(v)
                            coefs.append(self.problem.shifts[s].minutes)
                expr = cp_model.LinearExpr.weighted_sum(timed, coefs)
                instance = RuleInstance(rule, person=self.problem.people[p].id)
                if rule.maximum is not None and sum(coefs) > rule.maximum:
                    self._enforce(m.add(expr <= rule.maximum), instance)
                if rule.minimum > 0:
                    self._enforce(m.add(expr >= rule.minimum), instance)
        elif isinstance(rule, MaxConsecutive):
            for p in self.people_of(rule.people):
                pid = self.problem.people[p].id
                lit = self._person_literal(rule, pid)
                on = [self.day_vars(p, d, rule.shifts) for d in range(self.days)]
                before = max(0, rule.before.get(pid, 0))
                k = rule.maximum
                # Windows of k+1 days, the first ones reaching back into the previous period's ``before``.
                for start in range(-min(before, k), self.days - k):
                    lo = max(0, start)
                    inside = [v for d in range(lo, start + k + 1) for v in on[d]]
                    limit = k - (lo - start)
                    if limit < 0:
                        limit = 0
                    if len(inside) > limit:
                        ct = m.add(cp_model.LinearExpr.sum(inside) <= limit)
                        if lit is not None:
                            ct.only_enforce_if(lit)
        elif isinstance(rule, MinConsecutive | MinConsecutiveDaysOff):
            working = isinstance(rule, MinConsecutive)
            for p in self.people_of(rule.people):
                lit = self._person_literal(rule, self.problem.people[p].id)
                self._min_runs(p, rule.minimum, working, lit)
        elif isinstance(rule, MaxWeekends):
            weekends = self.problem.horizon.weekends()
            for p in self.people_of(rule.people):
                flags: list[cp_model.IntVar] = []
                for days in weekends:
                    ws = [w for d in days if (w := self.work[p][d]) is not None]
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
                    self._enforce(ct, RuleInstance(rule, person=self.problem.people[p].id))
        elif isinstance(rule, Request):
            p = self.person_index[rule.person]
            vs = self.day_vars(p, rule.day, None if rule.shift is None else frozenset({rule.shift}))
            self._penalise("Request", vs[0] if vs else None, rule.weight, when_true=not rule.wants)
        elif isinstance(rule, Fairness):
            self._fairness(rule)
        elif isinstance(rule, Stability):
            self._stability(rule)
        else:  # pragma: no cover - the Rule union is closed
            raise TypeError(f"unknown rule {rule!r}")

    def _successions(self, first: str, thens: list[str], people: PersonSet) -> None:
        """All the duties that may not follow ``first`` at once: ``first`` on day d and any of them on day d+1 are
        at most one true (the day-d+1 duties already exclude each other), one constraint instead of one per pair."""
        f = self.shift_index[first]
        t = [self.shift_index[then] for then in thens]
        for p in self.people_of(people):
            rows = self.x[p]
            for d in range(self.days - 1):
                a = rows[d][f]
                if a is None:
                    continue
                after = [v for s in t if (v := rows[d + 1][s]) is not None]
                if len(after) == 1:
                    self.model.add_bool_or([a.Not(), after[0].Not()])
                elif after:
                    self.model.add_at_most_one([a, *after])

    def _person_literal(self, rule: Rule, person: str) -> cp_model.IntVar | None:
        """One assumption literal for all the constraints a rule puts on one person (None when not assuming)."""
        if not self.assumptions:
            return None
        lit = self.model.new_bool_var(f"a{len(self.literals)}")
        self.literals[lit] = RuleInstance(rule, person=person)
        return lit

    def _min_runs(self, p: int, minimum: int, working: bool, lit: cp_model.IntVar | None) -> None:
        """Forbid each too-short run that starts after day 0 and ends before the horizon does: the pattern
        (other, this×l, other) for l < minimum, as one clause each."""
        if minimum <= 1:
            return
        true_lit: list[cp_model.IntVar | None] = self.work[p]

        def on(d: int) -> cp_model.IntVar | cmh.Literal | bool:
            # the literal "day d is of the kind the run is made of"; a missing variable is a fixed day off
            w = true_lit[d]
            if w is None:
                return not working
            return w if working else w.Not()

        for start in range(1, self.days):
            for length in range(1, minimum):
                end = start + length  # first day after the run
                if end >= self.days:
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
                    self.model.add_bool_or([self.model.new_constant(0)])
                else:
                    self.model.add_bool_or(clause)

    def _fairness(self, rule: Fairness) -> None:
        m = self.model
        people = self.people_of(rule.people)
        if len(people) < 2:
            return
        counts = [
            cp_model.LinearExpr.sum([v for d in range(self.days) for v in self.day_vars(p, d, rule.shifts)])
            for p in people
        ]
        history = [int(rule.history.get(self.problem.people[p].id, 0)) for p in people]
        hi_bound = self.days + max(history)
        if rule.weight or rule.max_period_spread is not None or rule.period_weight:
            pmax = m.new_int_var(0, self.days, "fair_pmax")
            pmin = m.new_int_var(0, self.days, "fair_pmin")
            for c in counts:
                m.add(pmax >= c)
                m.add(pmin <= c)
            if rule.max_period_spread is not None:
                ct = m.add(pmax - pmin <= rule.max_period_spread)
                self._enforce(ct, RuleInstance(rule))
            # Without history the cumulative spread is this period's spread: both weights apply to it.
            period_weight = rule.period_weight + (0 if any(history) else rule.weight)
            if period_weight:
                self.objective_terms["Fairness"] += [(pmax, period_weight), (pmin, -period_weight)]
        if rule.weight and any(history):
            cmax = m.new_int_var(min(history), hi_bound, "fair_cmax")
            cmin = m.new_int_var(min(history), hi_bound, "fair_cmin")
            for c, h in zip(counts, history, strict=True):
                m.add(cmax >= c + h)
                m.add(cmin <= c + h)
            self.objective_terms["Fairness"] += [(cmax, rule.weight), (cmin, -rule.weight)]

    def _stability(self, rule: Stability) -> None:
        previous = {
            (self.person_index[a.person], a.day, self.shift_index[a.shift])
            for a in rule.previous
            if a.person in self.person_index and a.shift in self.shift_index and 0 <= a.day < self.days
        }
        for p, rows in enumerate(self.x):
            for d, row in enumerate(rows):
                for s, v in enumerate(row):
                    self._penalise("Stability", v, rule.weight, when_true=(p, d, s) not in previous)
        for p, d, s in previous:
            if self.x[p][d][s] is None:
                self.objective_offset["Stability"] += rule.weight

    # ------------------------------------------------------------------------------------------ reading

    def assignments(self, value: Callable[[cp_model.IntVar], bool]) -> tuple[Assignment, ...]:
        out: list[Assignment] = []
        people, shifts = self.problem.people, self.problem.shifts
        for p, rows in enumerate(self.x):
            for d, row in enumerate(rows):
                for s, v in enumerate(row):
                    if v is not None and value(v):
                        out.append(Assignment(people[p].id, d, shifts[s].id))
        return tuple(out)

    def penalties(self, value: Callable[[cp_model.IntVar], int]) -> dict[str, int]:
        return {
            kind: self.objective_offset.get(kind, 0) + sum(c * value(v) for v, c in self.objective_terms[kind])
            for kind in set(self.objective_terms) | set(self.objective_offset)
        }

    def size(self) -> int:
        """How many person × day × duty variables the model has."""
        return sum(1 for rows in self.x for row in rows for v in row if v is not None)

    def hint(self, assignments: Iterable[Assignment]) -> None:
        """Start the search from a known roster (a previous one, a greedy one)."""
        chosen = {(a.person, a.day, a.shift) for a in assignments}
        people, shifts = self.problem.people, self.problem.shifts
        for p, rows in enumerate(self.x):
            for d, row in enumerate(rows):
                for s, v in enumerate(row):
                    if v is not None:
                        self.model.add_hint(v, (people[p].id, d, shifts[s].id) in chosen)


class _ProgressReporter(cp_model.CpSolverSolutionCallback):
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
                best_bound=self.best_objective_bound,
                elapsed_s=time.monotonic() - self.started,
                solutions=self.count,
            )
        )


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


LARGE_MODEL = 40_000
"""Person × day × duty variables above which the whole model's objective-driven search may find no roster
within a minute (measured: none in 60 s on 364 days × 150 people × 32 duty types, on 2 workers)…"""
FIRST_ROSTER_SHARE = 0.6
"""…so a first roster is searched without the objective (found in 10–30 s there on a loaded 2-core machine)
within this share of the time limit, and the optimising search starts from it as its hint: at that size a
roster at all matters more than the last improvements."""


def light_presolve(solver: cp_model.CpSolver) -> None:
    """Large models: presolve once round, without probing or symmetry detection (a full presolve of 364 days ×
    150 people × 32 duty types took ~15 s of a 60 s budget, twice when there are two solves)."""
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.max_presolve_iterations = 1
    solver.parameters.symmetry_level = 0


def _first_roster(built: RosterModel, time_limit_s: float, workers: int) -> tuple[str, list[int]]:
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
    hint = built.model.proto.solution_hint
    hint.vars.clear()
    hint.values.clear()
    values = list(solver.response_proto.solution)
    hint.vars.extend(range(len(values)))
    hint.values.extend(values)
    return "found", values


def _infeasible(problem: Problem, started: float, time_limit_s: float) -> Solution:
    from roster.solver.explain import explain

    remaining = max(1.0, time_limit_s - (time.monotonic() - started))
    return Solution(
        status=Status.INFEASIBLE,
        assignments=(),
        objective=None,
        best_bound=None,
        wall_time_s=time.monotonic() - started,
        explanation=explain(problem, time_limit_s=remaining),
    )


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
    built = RosterModel(problem)
    previous = [a for rule in problem.rules if isinstance(rule, Stability) for a in rule.previous]
    large = built.size() > LARGE_MODEL
    first: list[int] = []
    if previous:
        built.hint(previous)  # re-planning starts from the published roster
    elif large and built.model.has_objective():
        outcome, first = _first_roster(built, started + time_limit_s * FIRST_ROSTER_SHARE - time.monotonic(), workers)
        if outcome == "infeasible":
            return _infeasible(problem, started, time_limit_s)
        if first and on_progress is not None:
            found = sum(built.penalties(lambda var: first[var.index]).values())
            on_progress(Progress(found, 0.0, time.monotonic() - started, 0))
    solver = cp_model.CpSolver()
    solver_parameters(solver, time_limit_s - (time.monotonic() - started), workers)
    if large:
        light_presolve(solver)
    reporter = _ProgressReporter(on_progress, started) if on_progress is not None else None
    code = solver.solve(built.model, reporter)
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
    if code == cp_model.INFEASIBLE:
        return _infeasible(problem, started, time_limit_s)
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


def assumption_core(
    built: RosterModel, literals: Sequence[cp_model.IntVar], time_limit_s: float
) -> tuple[str, list[cp_model.IntVar]]:
    """Solve under ``literals``; return ("infeasible", a sufficient subset) / ("feasible", []) / ("unknown", [])."""
    model = built.model
    model.clear_assumptions()
    model.add_assumptions(literals)
    solver = cp_model.CpSolver()
    solver_parameters(solver, time_limit_s, 1)
    code = solver.solve(model)
    if code == cp_model.INFEASIBLE:
        index = {lit.index: lit for lit in literals}
        core = [index[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in index]
        return "infeasible", core
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "feasible", []
    return "unknown", []
