"""A first roster of a large problem in a second: each person's own year, found alone, one person after another.

When only covers couple people and covers are soft (the field's benchmark), any choice of each person's days that
keeps that person's own rules is a roster. Found by CP-SAT, one person's year takes it a second or more (150 people:
minutes); found here, a dynamic programme over the days does it in milliseconds:

- how many days to work: enough that their duties (within their caps) reach the minimum minutes, few enough to stay
  within the maximum, aimed at what the usual duty length gives;
- which days: the best path through the states "working, day n of the run" and "off, day n of the rest", which
  keeps every run and rest length and every day off by construction; a worked day is worth ``λ``, more on a day the
  covers still need (what the people before left), less on a weekend (``μ``); ``λ`` is searched until the days
  worked are as many as asked, ``μ`` raised until the weekends are few enough;
- which duty on each run: the one the covers still need most there, within its cap, that may follow itself (a run
  split between two when no one duty has room), then runs changed to longer or shorter duties until the minutes
  fit.

A rule it does not model it says with None (the caller solves otherwise); a person whose year it finds no path for
(a contract so tight that the pace's search jumps over it) it names, for the caller to solve that one person.
The roster is poor on cover still; improving it is the search's work (``roster.solver.large``).
"""

from __future__ import annotations

import random
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
JITTER = 0.4
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


@dataclass(frozen=True)
class Templates:
    """Everyone's own year found, and the people whose year the programme found no path for (``missing``: their
    year is for a search to find, e.g. CP-SAT on that one person)."""

    assignments: list[Assignment]
    missing: list[str]


def templates(problem: Problem) -> Templates | None:
    """Everyone's own year, or None when a rule is not one a template keeps."""
    if not all(isinstance(rule, KNOWN) for rule in problem.rules):
        return None
    if any(isinstance(r, Cover) and (r.under_weight is None or r.maximum is not None) for r in problem.rules):
        return None  # a hard cover: a template, which only prefers what covers need, could break it
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
    missing: list[str] = []
    for person in problem.people:
        caps = contracts[person.id].caps
        duties = [
            s for s in problem.shifts
            if s.skills <= person.skills and caps.get(s.id, 1) > 0 and (s.id, s.id) not in forbidden
        ]
        year = _year(
            problem.horizon.days, contracts[person.id], duties, weekend_days, problem.horizon.weekends(), needed,
            forbidden,
        )
        if year is None:
            missing.append(person.id)
            continue
        for day, shift in year:
            needed[(day, shift)] -= 1
        out += [Assignment(person.id, day, shift) for day, shift in year]
    return Templates(out, missing)


def _contracts(problem: Problem) -> dict[str, Contract] | None:
    days = problem.horizon.days
    contracts = {
        p.id: Contract(set(), days, 1, 1, None, 0, None, {}, set()) for p in problem.people
    }
    for rule in problem.rules:
        if isinstance(rule, Cover | Request | ForbiddenSuccession):
            continue  # not a person's own contract
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
    forbidden: set[tuple[str, str]],
) -> list[tuple[int, str]] | None:
    """One person's days and duties, or None: the days the covers still need them preferred, and on each run the
    duty the covers need most."""
    # each day its own small worth (seeded by the person's contract), so that raising ``λ`` adds days a few at a
    # time instead of all at once, and the days the covers need above them
    jitter = random.Random(f"{days}:{contract.min_minutes}:{sorted(contract.off)}")
    bonus = [
        JITTER * jitter.random() + (NEEDED_BONUS if any(needed.get((d, s.id), 0) > 0 for s in duties) else 0.0)
        for d in range(days)
    ]
    if not duties:
        return [] if contract.min_minutes == 0 else None
    for span in _days_range(days, contract, duties):
        worked = _days(days, contract, weekend_days, weekends, *span, bonus)
        if worked is None:
            continue
        runs = _runs(worked)
        for by_need in (needed, None):
            picked = _duties(runs, contract, duties, by_need, forbidden)
            if picked is not None and _fit_minutes(runs, picked, contract, duties):
                pairs = zip(runs, picked, strict=True)
                return [(d, sid) for run, sids in pairs for d, sid in zip(run, sids, strict=True)]
    return None


def _days_range(days: int, c: Contract, duties: Sequence[ShiftType]) -> list[tuple[int, int]]:
    """How many days to work, ranges to try in turn: enough that the longest duties (within their caps) reach the
    minimum minutes, few enough that the shortest stay within the maximum; first, where it exists, the narrower
    range the duties' usual length gives."""
    slots = sorted((s.minutes for s in duties for _ in range(min(days, c.caps.get(s.id, days)))), reverse=True)
    total, lo = 0, None
    for n, minutes in enumerate(slots, start=1):
        total += minutes
        if total >= c.min_minutes:
            lo = n
            break
    if c.min_minutes == 0:
        lo = 0
    if lo is None:
        return []
    hi, total = 0, 0
    for minutes in reversed(slots):
        if c.max_minutes is not None and total + minutes > c.max_minutes:
            break
        total += minutes
        hi += 1
    if lo > hi:
        return []
    # aim at what the duties' usual length (weighted by how many of each the caps allow) gives, where possible:
    # the duties picked later by the covers' need then land near the minutes asked, not at an edge
    usual = sum(slots) / len(slots) if slots else 0
    spans = [(lo, hi)]
    if usual:
        aim_lo = max(lo, -(-c.min_minutes // round(usual)))
        aim_hi = min(hi, hi if c.max_minutes is None else int(c.max_minutes // usual))
        if aim_lo <= aim_hi:
            spans.insert(0, (aim_lo, aim_hi))
    return spans


def _days(
    days: int, contract: Contract, weekend_days: set[int], weekends: list[tuple[int, ...]], lo: int, hi: int,
    bonus: list[float],
) -> list[int] | None:
    """Days to work, between ``lo`` and ``hi`` of them, within the person's runs, rests, days off and weekends."""
    for mu in (0.0, 0.3, 0.6, 1.0, 2.0, 4.0):
        low, high = -2.0, 4.0
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
                if rested >= rest_full and day not in c.off and c.run >= 1:
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


def _runs(worked: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for day in worked:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _duties(
    runs: list[list[int]],
    c: Contract,
    duties: Sequence[ShiftType],
    needed: dict[tuple[int, str], int] | None,
    forbidden: set[tuple[str, str]],
) -> list[list[str]] | None:
    """A duty for each day of each run: the one the covers still need most on the run's days (with ``needed``),
    else the one with the most room under its cap, for the whole run; when none has room for all of it, the run
    is split between two that may follow each other. Always within the caps and allowed on the days."""
    used: dict[str, int] = defaultdict(int)
    picked: list[list[str]] = []
    for run in runs:
        order = sorted(
            duties,
            key=lambda s: (
                -(sum(needed.get((d, s.id), 0) for d in run) if needed is not None else 0),
                used[s.id] - c.caps.get(s.id, 10**6),
            ),
        )
        whole = next((duty.id for duty in order if _fits(duty.id, run, used, c)), None)
        if whole is not None:
            used[whole] += len(run)
            picked.append([whole] * len(run))
            continue
        split = _split(run, order, used, c, forbidden)
        if split is None:
            return None
        for sid in split:
            used[sid] += 1
        picked.append(split)
    return picked


def _split(
    run: list[int], order: Sequence[ShiftType], used: dict[str, int], c: Contract, forbidden: set[tuple[str, str]]
) -> list[str] | None:
    """The run's first days on one duty (as many as its cap leaves), the rest on another that may follow it."""
    for a in order:
        room = c.caps.get(a.id, 10**6) - used[a.id]
        k = min(room, len(run) - 1)
        if k <= 0 or not _fits(a.id, run[:k], used, c):
            continue
        for b in order:
            if b.id != a.id and (a.id, b.id) not in forbidden and _fits(b.id, run[k:], used, c):
                return [a.id] * k + [b.id] * (len(run) - k)
    return None


def _fits(sid: str, run: list[int], used: dict[str, int], c: Contract) -> bool:
    return used[sid] + len(run) <= c.caps.get(sid, 10**6) and not any((d, sid) in c.barred for d in run)


def _fit_minutes(runs: list[list[int]], picked: list[list[str]], c: Contract, duties: Sequence[ShiftType]) -> bool:
    """Change whole runs' duties (longer when short of the minimum, shorter when over the maximum) until the
    minutes fit; in place. False when they cannot."""
    length = {s.id: s.minutes for s in duties}
    used: dict[str, int] = defaultdict(int)
    for sids in picked:
        for sid in sids:
            used[sid] += 1
    total = sum(length[sid] for sids in picked for sid in sids)
    for longer in (True, False):
        for i in sorted(range(len(runs)), key=lambda i: -len(runs[i])):
            if c.min_minutes <= total and (c.max_minutes is None or total <= c.max_minutes):
                return True
            if (total < c.min_minutes) != longer or len(set(picked[i])) != 1:
                continue
            run, now = runs[i], picked[i][0]
            used[now] -= len(run)
            for duty in sorted(duties, key=lambda s: -s.minutes if longer else s.minutes):
                change = (duty.minutes - length[now]) * len(run)
                over = c.max_minutes is not None and total + change > c.max_minutes
                if (change > 0 if longer else change < 0) and not (longer and over) and _fits(duty.id, run, used, c):
                    picked[i], now, total = [duty.id] * len(run), duty.id, total + change
                    break
            used[now] += len(run)
    return c.min_minutes <= total and (c.max_minutes is None or total <= c.max_minutes)
