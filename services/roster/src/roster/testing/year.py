"""A year of periods solved one after the other, each roster carried into the next period's history as the service
carries a published one, and every roster's hard rules checked here from the facts alone (not by the solver).

The service reads a period's history from its tables (``roster.facts.load_period_facts``): the nights and duties each
member served on published shifts in the ``HISTORY_DAYS`` before the period (``store.shifts.member_history``, one SQL
count) and the nights in a row ending the day before it (``store.shifts.nights_before``). Both are queries with no
pure function to call, so ``Served`` counts the same things from the rosters kept in memory, with the service's own
window and night test (``DutyFacts.night``, which the store's ``NIGHT_SQL`` mirrors).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from roster import solver
from roster.domain import reports
from roster.domain.members import CIVILIAN_ROLES
from roster.domain.periods import CompositionIn
from roster.domain.problem import DutyFacts, MemberFacts, PeriodFacts, build_problem, nights_in_a_row
from roster.facts import HISTORY_DAYS
from roster.solver import Assignment, Progress, Status


@dataclass
class Served:
    """The duties a chain of periods has served so far: (member, day, night) per assignment, as published."""

    duties: list[tuple[str, date, bool]] = field(default_factory=list)

    def add(self, facts: PeriodFacts, assignments: Iterable[Assignment]) -> None:
        night = {d.duty_id: d.night for d in facts.duties}
        days = facts.days
        self.duties += [(a.person, days[a.day], night[a.shift]) for a in assignments]

    def history(self, facts: PeriodFacts) -> PeriodFacts:
        """``facts`` with the history the service would load for it: nights and duties in the year before it
        starts, and the nights in a row ending the day before (window: max consecutive nights + 1, as loaded)."""
        start = facts.starts_on
        since = start - timedelta(days=HISTORY_DAYS)
        cohort = {m.member_id for m in facts.members}
        nights: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for member, day, night in self.duties:
            if member in cohort and since <= day < start:
                counts[member] += 1
                nights[member] += night
        window = (facts.rules.max_consecutive_nights or 0) + 1
        served: dict[str, set[date]] = defaultdict(set)
        for member, day, night in self.duties:
            if night and member in cohort and start - timedelta(days=window) <= day < start:
                served[member].add(day)
        before = nights_in_a_row(served, start)
        return dataclasses.replace(facts, past_nights={k: v for k, v in nights.items() if v},
                                   past_duties=dict(counts), nights_before=before)

    def loads(self, member_ids: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
        """(duties, nights) per member so far, zero for those who served none."""
        duties = dict.fromkeys(member_ids, 0)
        nights = dict(duties)
        for member, _day, night in self.duties:
            if member in duties:
                duties[member] += 1
                nights[member] += night
        return duties, nights


def without_fairness_history(facts: PeriodFacts) -> PeriodFacts:
    """The baseline: the period's counts start from zero for everyone (nights in a row before it stay: a hard rule)."""
    return dataclasses.replace(facts, past_nights={}, past_duties={})


def spread(counts: Mapping[str, int]) -> int:
    """Most − least per member, as the service's reports judge fairness (``domain.reports.spread``)."""
    return reports.spread(list(counts.values())).spread


@dataclass(frozen=True)
class PeriodRun:
    """One period's solve as an organiser waits for it (seconds from the call, model building included)."""

    status: Status
    assignments: tuple[Assignment, ...]
    objective: int | None
    bound: float | None
    first_roster_s: float | None
    wall_s: float
    rosters: int
    penalties: Mapping[str, int] = field(default_factory=dict)  # the objective by soft rule kind


def solve_period(facts: PeriodFacts, *, time_limit_s: float, workers: int = 2) -> PeriodRun:
    problem = build_problem(facts)
    started = time.monotonic()
    first: list[float] = []
    seen: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        if not first:
            first.append(time.monotonic() - started)
        seen.append(progress)

    solution = solver.solve(problem, time_limit_s=time_limit_s, workers=workers, on_progress=on_progress)
    return PeriodRun(solution.status, solution.assignments, solution.objective, solution.best_bound,
                     first[0] if first else None, time.monotonic() - started, len(seen), dict(solution.penalties))


def hard_rule_breaks(facts: PeriodFacts, assignments: Sequence[Assignment]) -> list[str]:
    """Every hard rule of the period the roster breaks, read from the facts as the service states them (exact
    cover, composition, skills, leave, one duty a day, rest, nights in a row, weekly and period limits, the night
    spread). Empty: the roster holds."""
    breaks: list[str] = []
    days = facts.days
    duty = {d.duty_id: d for d in facts.duties}
    member = {m.member_id: m for m in facts.members}
    crews: dict[tuple[str, int], list[str]] = defaultdict(list)
    held: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for a in assignments:
        crews[(a.shift, a.day)].append(a.person)
        held[a.person][a.day].append(a.shift)
    for d in facts.duties:
        for i, day in enumerate(days):
            crew = [member[p] for p in crews.get((d.duty_id, i), [])]
            if day.isoweekday() not in d.weekdays:
                if crew:
                    breaks.append(f"{d.duty_id} on {day}: does not run that day")
                continue
            breaks += _crew_breaks(d.duty_id, d.required_size, d.composition, d.required_skills, crew, day)
    away = {(a.member_id, day) for a in facts.absences for day in days if a.from_day <= day <= a.to_day}
    rules = facts.rules
    night_counts = dict.fromkeys(member, 0)
    for person, by_day in held.items():
        if person not in member:
            breaks.append(f"{person}: not in the cohort")
            continue
        for i, shifts in by_day.items():
            if len(shifts) > 1:
                breaks.append(f"{person} on {days[i]}: {len(shifts)} duties")
            if (person, days[i]) in away:
                breaks.append(f"{person} on {days[i]}: on leave")
        one = {i: duty[shifts[0]] for i, shifts in by_day.items()}
        for i in sorted(one):
            if i + 1 in one and _rest_hours(one[i], one[i + 1], days[i]) < rules.min_rest_hours:
                breaks.append(f"{person}: too little rest after {days[i]}")
        nights = sorted(i for i, d in one.items() if d.night)
        night_counts[person] = len(nights)
        if rules.max_consecutive_nights is not None:
            run = facts.nights_before.get(person, 0) if nights and nights[0] == 0 else 0
            for prev, i in itertools.pairwise([-1, *nights]):
                run = run + 1 if i == prev + 1 else 1
                if run > rules.max_consecutive_nights:
                    breaks.append(f"{person}: {run} nights in a row up to {days[i]}")
        if rules.max_duties_per_week is not None:
            for week, n in Counter(days[i].isocalendar()[:2] for i in one).items():
                if n > rules.max_duties_per_week:
                    breaks.append(f"{person}: {n} duties in week {week}")
        if rules.max_duties_per_period is not None and len(one) > rules.max_duties_per_period:
            breaks.append(f"{person}: {len(one)} duties in the period")
    nights_run = any(d.night for d in facts.duties)
    if rules.max_night_spread is not None and nights_run and spread(night_counts) > rules.max_night_spread:
        breaks.append(f"nights per member spread {spread(night_counts)} > {rules.max_night_spread}")
    return breaks


def _crew_breaks(duty_id: str, size: int, composition: CompositionIn, skills: frozenset[str],
                 people: list[MemberFacts], day: date) -> list[str]:
    where = f"{duty_id} on {day}"
    out = [] if len(people) == size else [f"{where}: {len(people)} on the crew, needs {size}"]
    roles = Counter(p.role for p in people)
    for role, n in composition.min_by_role.items():
        if roles[role.value] < n:
            out.append(f"{where}: {roles[role.value]} {role.value}, needs at least {n}")
    for role, n in composition.max_by_role.items():
        if roles[role.value] > n:
            out.append(f"{where}: {roles[role.value]} {role.value}, at most {n}")
    civilians = sum(n for role, n in roles.items() if role in CIVILIAN_ROLES)
    if composition.min_civilians and civilians < composition.min_civilians:
        out.append(f"{where}: {civilians} civilians, needs {composition.min_civilians}")
    if composition.max_share_per_org is not None and people:
        top = max(Counter(p.org_id for p in people).values())
        if top > composition.max_share_per_org * len(people) + 1e-9:
            out.append(f"{where}: {top} of {len(people)} from one organisation")
    out += [f"{where}: {p.member_id} lacks {sorted(skills - p.skills)}" for p in people if not skills <= p.skills]
    return out


def _rest_hours(first: DutyFacts, then: DutyFacts, day: date) -> float:
    ends = datetime.combine(day + timedelta(days=1) if first.end_time <= first.start_time else day, first.end_time)
    starts = datetime.combine(day + timedelta(days=1), then.start_time)
    return (starts - ends).total_seconds() / 3600
