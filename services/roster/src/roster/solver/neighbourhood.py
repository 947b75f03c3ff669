"""A piece of a large roster to solve on its own: some people over a window of days, everyone and every day else
held as the roster has them. A large problem's roster is improved piece by piece (``roster.solver.large``); each
piece is a ``Problem`` small enough for CP-SAT to solve in a fraction of a second.

A piece is exact, not an approximation: re-solving it can only change the free people's free days, and every rule
still holds over the whole horizon.

- The piece's model spans the free window plus a margin of whole weeks on each side, held as they are, so runs of
  work or rest, successions and consecutive-day limits across the window's edges are judged by the model itself.
  Windows start on a Monday, so weeks and weekends are never cut.
- What the roster holds outside the model's span is an offset: the totals a person may still work (minutes, duties
  of a type, weekends), and, on the free days, the crews the other people already give each cover.

Only problems whose people are coupled by covers alone are cut this way (``separable``): crew make-up, shares from
one group and fairness couple people in ways an offset cannot carry, and those problems are solved whole.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from roster.solver.horizon import Horizon
from roster.solver.model import (
    Assignment,
    Cover,
    ForbiddenSuccession,
    MaxConsecutive,
    MaxWeekends,
    MinConsecutive,
    MinConsecutiveDaysOff,
    Problem,
    Request,
    Rule,
    ShiftCount,
    Stability,
    TotalMinutes,
    Unavailable,
    WeeklyCount,
)

PER_PERSON = (ShiftCount, TotalMinutes, MaxConsecutive, MinConsecutive, MinConsecutiveDaysOff, MaxWeekends, WeeklyCount)
ON_A_DAY = (Request, Unavailable)
CUTTABLE = (Cover, ForbiddenSuccession, Stability, *PER_PERSON, *ON_A_DAY)

Roster = Mapping[tuple[str, int], str]
"""(person, day) → the duty taken; a day off is absent."""


def separable(problem: Problem) -> bool:
    """Whether the problem can be cut into pieces: only covers couple its people (and one re-plan at most: the
    pieces price one ``Stability``)."""
    return (
        all(isinstance(rule, CUTTABLE) for rule in problem.rules)
        and sum(isinstance(rule, Stability) for rule in problem.rules) <= 1
    )


@dataclass(frozen=True)
class Neighbourhood:
    """The free part of a piece: ``people`` on days ``first`` … ``end - 1``."""

    people: tuple[str, ...]
    first: int
    end: int


@dataclass(frozen=True)
class Piece:
    """A piece's problem (its days counted from ``lo``), the days it holds as they are (person index, local day →
    duty index or None for a day off), and where its free days are."""

    problem: Problem
    fixed: Mapping[tuple[int, int], int | None]
    lo: int
    free: Neighbourhood

    def to_roster(self, assignments: Iterable[Assignment]) -> list[Assignment]:
        """The free people's duties on the free days, in the whole horizon's days."""
        out: list[Assignment] = []
        for a in assignments:
            day = a.day + self.lo
            if self.free.first <= day < self.free.end:
                out.append(Assignment(a.person, day, a.shift))
        return out


class Cutter:
    """A problem's rules sorted once by person and day, so each piece is cut in time of its own size."""

    def __init__(self, problem: Problem) -> None:
        if not separable(problem):
            raise ValueError("problem has rules coupling people beyond cover; solve it whole")
        self.problem = problem
        self.days = problem.horizon.days
        self.shift_index = {s.id: i for i, s in enumerate(problem.shifts)}
        self.minutes = {s.id: s.minutes for s in problem.shifts}
        self.covers: dict[int, list[Cover]] = defaultdict(list)
        self.on_day: dict[str, list[Request | Unavailable]] = defaultdict(list)
        self.per_person: dict[str, list[Rule]] = defaultdict(list)
        self.successions: list[ForbiddenSuccession] = []
        self.stability: Stability | None = None
        self.previous: dict[str, list[Assignment]] = defaultdict(list)
        everyone = [p.id for p in problem.people]
        for rule in problem.rules:
            if isinstance(rule, Cover):
                self.covers[rule.day].append(rule)
            elif isinstance(rule, ON_A_DAY):
                self.on_day[rule.person].append(rule)
            elif isinstance(rule, ForbiddenSuccession):
                self.successions.append(rule)
            elif isinstance(rule, Stability):
                self.stability = rule
                for a in rule.previous:
                    self.previous[a.person].append(a)
            else:
                for pid in rule.people if rule.people is not None else everyone:
                    self.per_person[pid].append(replace(rule, people=frozenset({pid})))
        # the margin must outlast every run rule: a run touching the model's edge is not judged inside it
        longest = max(
            [1]
            + [r.maximum for rules in self.per_person.values() for r in rules if isinstance(r, MaxConsecutive)]
            + [
                r.minimum for rules in self.per_person.values() for r in rules
                if isinstance(r, MinConsecutive | MinConsecutiveDaysOff)
            ]
        )
        self.margin = 7 * math.ceil((longest + 1) / 7)
        self.weekends = problem.horizon.weekends()

    def mondays(self) -> list[int]:
        """The days a window may start on (Mondays, and day 0)."""
        return [d for d in range(self.days) if d == 0 or self.problem.horizon.weekday(d) == 0]

    def cut(self, free: Neighbourhood, roster: Roster) -> Piece:
        """The piece of ``free`` in ``roster``."""
        lo = max(0, free.first - self.margin)
        hi = min(self.days, free.end + self.margin)
        members = set(free.people)
        people = tuple(p for p in self.problem.people if p.id in members)
        horizon = self.problem.horizon
        local = Horizon(hi - lo, start=horizon.date(lo), first_weekday=horizon.weekday(lo))
        rules: list[Rule] = []
        rules += self._covers(free.first, free.end, roster, members, lo)
        rules += [replace(s, people=None if s.people is None else s.people & members) for s in self.successions]
        for person in people:
            for r in self.on_day.get(person.id, ()):
                if free.first <= r.day < free.end:
                    rules.append(replace(r, day=r.day - lo))
            outside = Counter(
                shift for d in [*range(0, lo), *range(hi, self.days)]
                if (shift := roster.get((person.id, d))) is not None
            )
            for rule in self.per_person.get(person.id, ()):
                rules.append(self._person_rule(rule, person.id, outside, roster, lo, hi))
        if self.stability is not None:
            kept = tuple(
                Assignment(a.person, a.day - lo, a.shift)
                for pid in members for a in self.previous.get(pid, ()) if free.first <= a.day < free.end
            )
            rules.append(replace(self.stability, previous=kept))
        fixed: dict[tuple[int, int], int | None] = {}
        for p, person in enumerate(people):
            for day in [*range(lo, free.first), *range(free.end, hi)]:
                duty = roster.get((person.id, day))
                fixed[(p, day - lo)] = None if duty is None else self.shift_index[duty]
        problem = replace(self.problem, horizon=local, people=people, rules=tuple(rules))
        return Piece(problem, fixed, lo, free)

    def _covers(self, first: int, end: int, roster: Roster, members: set[str], lo: int) -> list[Rule]:
        """The free days' covers, less what the people outside the piece already give."""
        given = Counter(
            (day, shift) for (pid, day), shift in roster.items() if first <= day < end and pid not in members
        )
        out: list[Rule] = []
        for day in range(first, end):
            for cover in self.covers.get(day, ()):
                have = given.get((day, cover.shift), 0)
                out.append(
                    replace(
                        cover,
                        day=day - lo,
                        required=max(0, cover.required - have),
                        maximum=None if cover.maximum is None else cover.maximum - have,
                        # what the others give beyond the requirement is a constant: every further one is over
                    )
                )
        return out

    def _person_rule(
        self, rule: Rule, pid: str, outside: Counter[str], roster: Roster, lo: int, hi: int
    ) -> Rule:
        """One person's rule inside the model's span: totals less what lies ``outside`` it (the person's duties
        there, by type)."""
        if isinstance(rule, MaxConsecutive):
            return rule if lo == 0 else replace(rule, before={})
        if isinstance(rule, MinConsecutive | MinConsecutiveDaysOff | WeeklyCount):
            return rule
        if isinstance(rule, ShiftCount):
            done = sum(n for s, n in outside.items() if rule.shifts is None or s in rule.shifts)
            return replace(
                rule,
                minimum=max(0, rule.minimum - done),
                maximum=None if rule.maximum is None else max(0, rule.maximum - done),
            )
        if isinstance(rule, TotalMinutes):
            done = sum(self.minutes[s] * n for s, n in outside.items())
            return replace(
                rule,
                minimum=max(0, rule.minimum - done),
                maximum=None if rule.maximum is None else max(0, rule.maximum - done),
            )
        if isinstance(rule, MaxWeekends):
            worked = sum(
                1 for w in self.weekends if not (lo <= w[0] and w[-1] < hi) and any((pid, d) in roster for d in w)
            )
            return replace(rule, maximum=max(0, rule.maximum - worked))
        raise TypeError(f"not a per-person rule: {rule!r}")  # pragma: no cover - PER_PERSON is closed
