"""A first guess at a period's roster, day by day and crew by crew, for CP-SAT to start from (a hint).

The field's periods have hard crews: exactly so many people on each duty, made of at least one police officer, at
least two civilians, no more than half from one organisation. The whole model finds a first roster of 600 members
only after seconds of search; a guess that keeps most rules lets it start from a roster, or near one (CP-SAT repairs
a hint that breaks a few).

Each day, each duty's crew is filled by the people least loaded so far (history included), first those its
composition asks for, then anyone who fits: available, skilled, free that day, rested after yesterday's duty, within
the week's, the period's and the nights-in-a-row limits, and not cutting a rest short. A crew that cannot be filled
is left short; the search does the rest.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

from roster.solver.crew_constraints import attribute_of
from roster.solver.model import (
    Assignment,
    Composition,
    Cover,
    Fairness,
    ForbiddenSuccession,
    MaxConsecutive,
    MaxShareFromOneGroup,
    MinConsecutiveDaysOff,
    Person,
    Problem,
    ShiftCount,
    Unavailable,
    WeeklyCount,
)


class _State:
    """What the guess has given each person so far."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.on: dict[tuple[str, int], str] = {}
        self.load: Counter[str] = Counter()
        for rule in problem.rules:
            if isinstance(rule, Fairness) and rule.shifts is None:
                self.load.update(rule.history)
        self.count: Counter[tuple[str, frozenset[str] | None]] = Counter()
        # the duty sets whose counts must stay even (a hard spread: nights), counted per person as they are given
        self.even = [r.shifts for r in problem.rules if isinstance(r, Fairness) and r.shifts is not None]
        self.evened: Counter[tuple[str, frozenset[str]]] = Counter()


def guess(problem: Problem) -> list[Assignment]:
    """A roster that keeps most hard rules, to hint the search with (crews it cannot fill are left short)."""
    state = _State(problem)
    rules = problem.rules
    unavailable = {(r.person, r.day, r.shift) for r in rules if isinstance(r, Unavailable)}
    forbidden = {(r.first, r.then) for r in rules if isinstance(r, ForbiddenSuccession) and r.people is None}
    weekly = [r for r in rules if isinstance(r, WeeklyCount) and r.people is None]
    counts = [r for r in rules if isinstance(r, ShiftCount) and r.people is None and r.maximum is not None]
    runs = [r for r in rules if isinstance(r, MaxConsecutive) and r.people is None]
    rest = max((r.minimum for r in rules if isinstance(r, MinConsecutiveDaysOff) and r.people is None), default=1)
    compositions: dict[tuple[str, int], list[Composition]] = defaultdict(list)
    shares: dict[tuple[str, int], list[MaxShareFromOneGroup]] = defaultdict(list)
    covers = sorted((r for r in rules if isinstance(r, Cover) and r.required > 0), key=lambda c: c.day)
    cover_days: dict[str, set[int]] = defaultdict(set)
    for c in covers:
        cover_days[c.shift].add(c.day)
    for rule in rules:
        if isinstance(rule, Composition | MaxShareFromOneGroup):
            for sid in rule.shifts or [s.id for s in problem.shifts]:
                for day in rule.days if rule.days is not None else cover_days[sid]:
                    target = compositions if isinstance(rule, Composition) else shares
                    target[(sid, day)].append(rule)
    week_of = {d: i for i, week in enumerate(problem.horizon.weeks()) for d in week}
    skills = {s.id: s.skills for s in problem.shifts}

    def fits(person: Person, day: int, sid: str) -> bool:
        pid = person.id
        if (pid, day) in state.on or (pid, day, None) in unavailable or (pid, day, sid) in unavailable:
            return False
        if not skills[sid] <= person.skills:
            return False
        yesterday = state.on.get((pid, day - 1))
        if yesterday is not None and (yesterday, sid) in forbidden:
            return False
        if yesterday is None and rest > 1 and _resting(state, pid, day, rest):
            return False
        for w in weekly:
            week = [d for d in range(day - 6, day) if week_of.get(d) == week_of[day]]
            if sum(1 for d in week if _counts(state.on.get((pid, d)), w.shifts)) + 1 > w.maximum:
                return False
        for c in counts:
            if _counts(sid, c.shifts) and state.count[(pid, c.shifts)] + 1 > (c.maximum or 0):
                return False
        for r in runs:
            if _counts(sid, r.shifts):
                run = 0
                while day - 1 - run >= 0 and _counts(state.on.get((pid, day - 1 - run)), r.shifts):
                    run += 1
                if run == day:
                    run += r.before.get(pid, 0)
                if run + 1 > r.maximum:
                    return False
        return True

    for cover in covers:
        crew = _crew(problem, state, cover, compositions[(cover.shift, cover.day)],
                     shares[(cover.shift, cover.day)], fits)
        for person in crew:
            state.on[(person.id, cover.day)] = cover.shift
            state.load[person.id] += 1
            for shifts in state.even:
                if cover.shift in shifts:
                    state.evened[(person.id, shifts)] += 1
            for c in counts:
                if _counts(cover.shift, c.shifts):
                    state.count[(person.id, c.shifts)] += 1
    return [Assignment(pid, day, sid) for (pid, day), sid in state.on.items()]


def _crew(
    problem: Problem,
    state: _State,
    cover: Cover,
    compositions: list[Composition],
    shares: list[MaxShareFromOneGroup],
    fits: Callable[[Person, int, str], bool],
) -> list[Person]:
    """The day's crew of one duty: those the composition asks for first, then the least loaded who fit."""
    able = [p for p in problem.people if fits(p, cover.day, cover.shift)]
    even = [shifts for shifts in state.even if cover.shift in shifts]
    able.sort(key=lambda p: (sum(state.evened[(p.id, shifts)] for shifts in even), state.load[p.id], p.id))
    crew: list[Person] = []

    def allowed(person: Person) -> bool:
        for comp in compositions:
            if comp.max_count is not None and attribute_of(person, comp.attribute) & comp.values:
                have = sum(1 for q in crew if attribute_of(q, comp.attribute) & comp.values)
                if have + 1 > comp.max_count:
                    return False
        for share in shares:
            size = cover.required
            for group in attribute_of(person, share.attribute):
                have = sum(1 for q in crew if group in attribute_of(q, share.attribute))
                if (have + 1) * share.denominator > share.numerator * size:
                    return False
        return True

    for comp in compositions:
        want = comp.min_count or 0
        for person in _members(able, comp):
            have = sum(1 for q in crew if attribute_of(q, comp.attribute) & comp.values)
            if have >= want or len(crew) >= cover.required:
                break
            if person not in crew and allowed(person):
                crew.append(person)
    for person in able:
        if len(crew) >= cover.required:
            break
        if person not in crew and allowed(person):
            crew.append(person)
    return crew


def _members(able: Iterable[Person], comp: Composition) -> list[Person]:
    return [p for p in able if attribute_of(p, comp.attribute) & comp.values]


def _counts(sid: str | None, shifts: frozenset[str] | None) -> bool:
    return sid is not None and (shifts is None or sid in shifts)


def _resting(state: _State, pid: str, day: int, rest: int) -> bool:
    """Whether the person is inside a rest begun after day 0 that is still shorter than ``rest`` days."""
    off = 0
    d = day - 1
    while d >= 0 and (pid, d) not in state.on:
        off, d = off + 1, d - 1
    return d >= 0 and off < rest
