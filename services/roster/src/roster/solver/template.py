"""A first roster of a large problem in a second: each person's own year, found alone, the covers ignored.

When only covers couple people and covers are soft (the field's benchmark), any choice of each person's days that
keeps that person's own rules is a roster. Found by CP-SAT, one person's year takes it a second or more (150 people:
minutes); found here, a dynamic programme over the days does it in milliseconds:

- which days to work: the best path through the states "working, day n of the run" and "off, day n of the rest",
  which keeps every run and rest length and every day off by construction; a worked day is worth ``λ`` and a
  weekend day costs ``μ`` more, ``λ`` searched until the days worked give the person's minutes, ``μ`` raised until
  their weekends are few enough;
- which duty on each run: one the person may take, that may follow itself, within its cap, on every day of the run.

What it cannot keep (a person's own rules it does not model, or a year no path fits) it says with None, and the
caller solves otherwise. The roster is poor on cover; improving it is the search's work (``roster.solver.large``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

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
    ShiftCount,
    ShiftType,
    TotalMinutes,
    Unavailable,
)

NEEDED_BONUS = 0.5
"""What a day the covers still need is worth above the pace's own worth of a worked day (``λ``, near 1)."""

KNOWN = (
    Cover, ForbiddenSuccession, MaxConsecutive, MaxWeekends, MinConsecutive, MinConsecutiveDaysOff, Request,
    ShiftCount, TotalMinutes, Unavailable,
)
"""The rule kinds a template keeps (or, for covers and requests, may ignore)."""


@dataclass
class Contract:
    """One person's own rules, as the programme reads them."""

    off: set[int]
    run: int
    min_run: int
    min_rest: int
    weekends: int | None
    min_minutes: int
    max_minutes: int | None
    caps: dict[str, int]
    barred: set[tuple[int, str]]


def templates(problem: Problem) -> list[Assignment] | None:
    """Everyone's own year, or None when a rule is not one a template keeps or a person's year has no path."""
    if not all(isinstance(rule, KNOWN) for rule in problem.rules):
        return None
    contracts = _contracts(problem)
    if contracts is None:
        return None
    forbidden = {(r.first, r.then) for r in problem.rules if isinstance(r, ForbiddenSuccession) and r.people is None}
    if any(isinstance(r, ForbiddenSuccession) and r.people is not None for r in problem.rules):
        return None
    weekend_days = {d for w in problem.horizon.weekends() for d in w}
    needed: dict[tuple[int, str], int] = defaultdict(int)
    for rule in problem.rules:
        if isinstance(rule, Cover):
            needed[(rule.day, rule.shift)] += rule.required
    out: list[Assignment] = []
    for person in problem.people:
        caps = contracts[person.id].caps
        duties = [
            s for s in problem.shifts
            if s.skills <= person.skills and caps.get(s.id, 1) > 0 and (s.id, s.id) not in forbidden
        ]
        year = _year(
            problem.horizon.days, contracts[person.id], duties, weekend_days, problem.horizon.weekends(), needed
        )
        if year is None:
            return None
        for day, shift in year:
            needed[(day, shift)] -= 1
        out += [Assignment(person.id, day, shift) for day, shift in year]
    return out


def _contracts(problem: Problem) -> dict[str, Contract] | None:
    days = problem.horizon.days
    contracts = {
        p.id: Contract(set(), days, 1, 1, None, 0, None, {}, set()) for p in problem.people
    }
    for rule in problem.rules:
        people = getattr(rule, "people", None)
        who = [p.id for p in problem.people] if people is None else [pid for pid in people if pid in contracts]
        if isinstance(rule, Unavailable):
            if rule.shift is None:
                contracts[rule.person].off.add(rule.day)
            else:
                contracts[rule.person].barred.add((rule.day, rule.shift))
            continue
        for pid in who:
            c = contracts[pid]
            if isinstance(rule, MaxConsecutive):
                if rule.shifts is not None or rule.before:
                    return None
                c.run = min(c.run, rule.maximum)
            elif isinstance(rule, MinConsecutive):
                c.min_run = max(c.min_run, rule.minimum)
            elif isinstance(rule, MinConsecutiveDaysOff):
                c.min_rest = max(c.min_rest, rule.minimum)
            elif isinstance(rule, MaxWeekends):
                c.weekends = rule.maximum if c.weekends is None else min(c.weekends, rule.maximum)
            elif isinstance(rule, TotalMinutes):
                c.min_minutes = max(c.min_minutes, rule.minimum)
                if rule.maximum is not None:
                    c.max_minutes = rule.maximum if c.max_minutes is None else min(c.max_minutes, rule.maximum)
            elif isinstance(rule, ShiftCount):
                if rule.minimum > 0 or rule.shifts is None or len(rule.shifts) != 1:
                    if rule.minimum > 0 or rule.maximum is not None:
                        return None
                    continue
                if rule.maximum is not None:
                    (sid,) = rule.shifts
                    c.caps[sid] = min(c.caps.get(sid, rule.maximum), rule.maximum)
    return contracts


def _year(
    days: int,
    contract: Contract,
    duties: Sequence[ShiftType],
    weekend_days: set[int],
    weekends: list[tuple[int, ...]],
    needed: dict[tuple[int, str], int],
) -> list[tuple[int, str]] | None:
    """One person's days and duties, or None: the days the covers still need them preferred, and on each run the
    duty the covers need most."""
    bonus = [NEEDED_BONUS if any(needed.get((d, s.id), 0) > 0 for s in duties) else 0.0 for d in range(days)]
    # the duty that sets the pace: the longest-capped, then the one whose length best fits the minutes asked
    choices = sorted(duties, key=lambda s: -contract.caps.get(s.id, days))
    if not choices:
        return [] if contract.min_minutes == 0 else None
    for main in choices[:3]:
        length = max(1, main.minutes)
        lo = -(-contract.min_minutes // length)
        hi = days if contract.max_minutes is None else contract.max_minutes // length
        if lo > hi:
            continue
        worked = _days(days, contract, weekend_days, weekends, lo, hi, bonus)
        if worked is None:
            continue
        for by_need in (needed, None):
            year = _duties(worked, contract, choices, main, by_need)
            if year is not None and _minutes_fit(year, contract, duties):
                return year
    return None


def _days(
    days: int, contract: Contract, weekend_days: set[int], weekends: list[tuple[int, ...]], lo: int, hi: int,
    bonus: list[float],
) -> list[int] | None:
    """Days to work, between ``lo`` and ``hi`` of them, within the person's runs, rests, days off and weekends."""
    for mu in (0.0, 0.3, 0.6, 1.0, 2.0, 4.0):
        low, high = -1.0, 4.0
        for _ in range(30):
            lam = (low + high) / 2
            worked = _path(days, contract, weekend_days, lam, mu, bonus)
            if worked is None:
                return None
            if len(worked) < lo:
                low = lam
            elif len(worked) > hi:
                high = lam
            else:
                break
        else:
            continue
        if contract.weekends is None or sum(1 for w in weekends if any(d in worked for d in w)) <= contract.weekends:
            return worked
    return None


def _path(
    days: int, c: Contract, weekend_days: set[int], lam: float, mu: float, bonus: list[float]
) -> list[int] | None:
    """The best path through the run/rest states: each worked day worth ``lam`` and its ``bonus`` (less ``mu`` on a
    weekend) and a tie-break for working earlier. States: ``+n`` working the n-th day of a run, ``-n`` off the n-th
    day of a rest (``-min_rest`` standing for "rested enough"). Before day 0 the person has rested enough."""
    rest_full = c.min_rest
    best: dict[int, float] = {-rest_full: 0.0}
    back: list[dict[int, int]] = []
    for day in range(days):
        gain = lam + bonus[day] - (mu if day in weekend_days else 0.0) - day * 1e-9
        nxt: dict[int, float] = {}
        came: dict[int, int] = {}
        for state, value in best.items():
            moves: list[tuple[int, float]] = []
            if state > 0:  # working, day `state` of the run
                if state < c.run and day not in c.off:
                    moves.append((state + 1, value + gain))
                if state >= c.min_run:
                    moves.append((-1, value))
            else:
                rested = -state
                moves.append((-min(rested + 1, rest_full), value))
                if rested >= rest_full and day not in c.off:
                    moves.append((1, value + gain))
            for target, reached in moves:
                if reached > nxt.get(target, float("-inf")):
                    nxt[target] = reached
                    came[target] = state
        if not nxt:
            return None
        best = nxt
        back.append(came)
    state = max(best, key=lambda s: best[s])
    worked: list[int] = []
    for day in range(days - 1, -1, -1):
        if state > 0:
            worked.append(day)
        state = back[day][state]
    return sorted(worked)


def _duties(
    worked: list[int], c: Contract, choices: Sequence[ShiftType], main: ShiftType,
    needed: dict[tuple[int, str], int] | None,
) -> list[tuple[int, str]] | None:
    """A duty for each run: the one the covers still need most on the run's days (with ``needed``), else the main
    one while its cap lasts; always one within its cap and allowed on every day of the run."""
    runs: list[list[int]] = []
    for day in worked:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    used: dict[str, int] = defaultdict(int)
    year: list[tuple[int, str]] = []
    order = [main] + [s for s in choices if s is not main]
    for run in runs:
        if needed is not None:
            order.sort(key=lambda s: -sum(needed.get((d, s.id), 0) for d in run))
        for duty in order:
            sid = duty.id
            if used[sid] + len(run) <= c.caps.get(sid, len(worked) + 1) and not any((d, sid) in c.barred for d in run):
                used[sid] += len(run)
                year += [(d, sid) for d in run]
                break
        else:
            return None
    return year


def _minutes_fit(year: list[tuple[int, str]], c: Contract, duties: Sequence[ShiftType]) -> bool:
    length = {s.id: s.minutes for s in duties}
    total = sum(length[sid] for _, sid in year)
    return total >= c.min_minutes and (c.max_minutes is None or total <= c.max_minutes)
