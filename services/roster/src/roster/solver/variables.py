"""The decision variables of a problem's CP-SAT model, and the helpers every rule's encoding uses on them.

One boolean ``x[p][d][s]`` per person, day and duty the person may take (a skill they lack or a day they are
unavailable leaves no variable at all, which keeps large problems small; a day ``fixed`` as it is has only its duty,
a constant), and ``work[p][d]`` = the sum of a
day's ``x`` (so at most one duty a day). A hard rule's constraints go through ``enforce`` or ``person_literal``,
which put them under an assumption literal when the model is built to explain infeasibility; a soft rule's
violations go through ``penalise`` into the objective's terms, kept per rule kind. A solution's values read
back as assignments and penalties per kind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from roster.solver.model import Assignment, Cover, PersonSet, Problem, Rule, ShiftCount, ShiftSet, Unavailable

LinearTerm = tuple[cp_model.IntVar, int]


@dataclass(frozen=True)
class RuleInstance:
    """One assumable piece of a hard rule: the rule, and the person/day/duty it was applied to."""

    rule: Rule
    person: str | None = None
    day: int | None = None
    shift: str | None = None


def check_ids(problem: Problem) -> None:
    """Every person, duty and day a rule names is the problem's (a ValueError naming the first that is not)."""
    people = {p.id for p in problem.people}
    shifts = {s.id for s in problem.shifts}
    days = problem.horizon.days
    for rule in problem.rules:
        for attr in ("person", "shift", "first", "then"):
            value = getattr(rule, attr, None)
            if isinstance(value, str) and value not in (people if attr == "person" else shifts):
                raise ValueError(f"{type(rule).__name__} names unknown {attr} {value!r}")
        day = getattr(rule, "day", None)
        if isinstance(day, int) and not 0 <= day < days:
            raise ValueError(f"{type(rule).__name__} day {day} outside the horizon 0..{days - 1}")


class RosterVariables:
    """A problem's CP-SAT model with its variables and no rules yet. With ``assumptions`` every hard rule
    instance is enforced only under its own literal (for explaining infeasibility), and unavailable days keep
    their variables."""

    def __init__(
        self, problem: Problem, *, assumptions: bool, fixed: Mapping[tuple[int, int], int | None] | None = None
    ) -> None:
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
        fixed = fixed or {}
        for p in range(n_people):
            rows: list[list[cp_model.IntVar | None]] = []
            work_row: list[cp_model.IntVar | None] = []
            for d in range(self.days):
                if (p, d) in fixed:
                    # A day held as it is (the margin of a window re-solved inside a larger roster): the duty
                    # it has is a constant, the others do not exist.
                    row: list[cp_model.IntVar | None] = [None] * n_shifts
                    if (held := fixed[(p, d)]) is not None:
                        # its own variable fixed true, not the model's shared constant: one literal twice in an
                        # at-most-one (a succession) would make the model infeasible
                        row[held] = new_bool(f"h{p}_{d}")
                        self.model.add(row[held] == 1)
                else:
                    row = [
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

        # The days each duty is covered at all: a crew rule without days of its own applies on those.
        self.cover_days: dict[int, set[int]] = defaultdict(set)
        for rule in problem.rules:
            if isinstance(rule, Cover) and rule.required > 0:
                self.cover_days[self.shift_index[rule.shift]].add(rule.day)

    def _check_ids(self) -> None:
        check_ids(self.problem)

    def size(self) -> int:
        """How many person × day × duty variables the model has."""
        return sum(1 for rows in self.x for row in rows for v in row if v is not None)

    def assignments(self, value: Callable[[cp_model.IntVar], bool]) -> tuple[Assignment, ...]:
        """The roster a solution's ``value`` of each variable makes."""
        out: list[Assignment] = []
        people, shifts = self.problem.people, self.problem.shifts
        for p, rows in enumerate(self.x):
            for d, row in enumerate(rows):
                for s, v in enumerate(row):
                    if v is not None and value(v):
                        out.append(Assignment(people[p].id, d, shifts[s].id))
        return tuple(out)

    def penalties(self, value: Callable[[cp_model.IntVar], int]) -> dict[str, int]:
        """The objective of a solution's ``value`` of each variable, split by soft rule kind."""
        return {
            kind: self.objective_offset.get(kind, 0) + sum(c * value(v) for v, c in self.objective_terms[kind])
            for kind in set(self.objective_terms) | set(self.objective_offset)
        }

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

    def enforce(self, ct: cp_model.Constraint, instance: RuleInstance) -> None:
        """Put a hard rule instance's constraint under its own assumption literal (when assuming)."""
        if self.assumptions:
            lit = self.model.new_bool_var(f"a{len(self.literals)}")
            self.literals[lit] = instance
            ct.only_enforce_if(lit)

    def person_literal(self, rule: Rule, person: str) -> cp_model.IntVar | None:
        """One assumption literal for all the constraints a rule puts on one person (None when not assuming)."""
        if not self.assumptions:
            return None
        lit = self.model.new_bool_var(f"a{len(self.literals)}")
        self.literals[lit] = RuleInstance(rule, person=person)
        return lit

    def penalise(self, kind: str, var: cp_model.IntVar | None, weight: int, *, when_true: bool) -> None:
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
