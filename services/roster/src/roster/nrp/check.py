"""A roster checked against a Curtois instance directly, in plain Python: every hard rule it breaks and its
exact benchmark price. No solver is involved, so the answer is always definite ("keeps every rule" or the list
of broken rules), however large the instance — unlike fixing a constraint model's variables and solving it
under a time limit, where running out of time is not a verdict.

The boundary semantics are the README's and ``roster.nrp.reference``'s: the minimum run lengths (of working
days and of days off) bind only a run that starts after day 0 and ends before the last day; "max consecutive
shifts k" forbids any k+1 consecutive working days; a weekend is a (Saturday, Sunday) pair fully inside the
horizon (day 0 is a Monday), worked when either day is; a type missing from a person's MaxShifts has no limit.
The price counts every request and cover row as the instance gives it, duplicates included.

Each person's roster is first laid out as one list of the shifts worked per day, then every rule is one pass
over those lists, so a 364 days × 150 staff × 32 types roster checks in a fraction of a second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from roster.nrp.loader import Instance, NrpStaff
from roster.solver.model import Assignment

MALFORMED = "unknown person/shift/day"
TWO_SHIFTS = "two shifts a day"
SUCCESSION = "forbidden succession"
MAX_OF_TYPE = "max shifts of a type"
MAX_MINUTES = "max total minutes"
MIN_MINUTES = "min total minutes"
MAX_CONSECUTIVE = "max consecutive shifts"
MIN_CONSECUTIVE = "min consecutive shifts"
MIN_DAYS_OFF = "min consecutive days off"
MAX_WEEKENDS = "max weekends"
DAY_OFF = "day off"

RULE_KINDS = (
    MALFORMED, TWO_SHIFTS, SUCCESSION, MAX_OF_TYPE, MAX_MINUTES, MIN_MINUTES, MAX_CONSECUTIVE, MIN_CONSECUTIVE,
    MIN_DAYS_OFF, MAX_WEEKENDS, DAY_OFF,
)
PENALTY_KINDS = ("on requests", "off requests", "under cover", "over cover")


@dataclass(frozen=True)
class Broken:
    """One hard rule a roster breaks: its ``kind`` (one of ``RULE_KINDS``), whose rule it is (None for none in
    particular), the days concerned, and a short English ``detail``."""

    kind: str
    person: str | None
    days: tuple[int, ...]
    detail: str


@dataclass(frozen=True)
class Verdict:
    """The hard rules a roster breaks (none: it is feasible) and its exact price, in total and per kind."""

    broken: tuple[Broken, ...]
    objective: int
    penalties: dict[str, int] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return not self.broken


def check(instance: Instance, assignments: Iterable[Assignment]) -> Verdict:
    """Every hard rule ``assignments`` break on ``instance``, and their price. A malformed assignment (unknown
    person or shift, day outside the horizon) is reported as broken and otherwise left out."""
    horizon = instance.horizon
    staff_ids = {s.id for s in instance.staff}
    minutes = {s.id: s.minutes for s in instance.shifts}
    broken: list[Broken] = []
    # days[person][day]: the shifts worked that day, in roster order (more than one is itself a broken rule)
    days: dict[str, list[list[str]]] = {s.id: [[] for _ in range(horizon)] for s in instance.staff}
    for a in assignments:
        if a.person not in staff_ids or a.shift not in minutes or not 0 <= a.day < horizon:
            broken.append(Broken(MALFORMED, a.person, (a.day,), f"{a.person} on {a.shift} on day {a.day}: "
                                 "no such person, shift or day in the instance"))
            continue
        worked = days[a.person][a.day]
        worked.append(a.shift)
        if len(worked) == 2:  # once per person and day, however many more follow
            broken.append(Broken(TWO_SHIFTS, a.person, (a.day,), f"{a.person} has more than one shift on day "
                                 f"{a.day}: {', '.join(worked)}"))
    for person in instance.staff:
        broken += _person_rules(instance, person, days[person.id], minutes)
    penalties = _price(instance, days)
    return Verdict(tuple(broken), sum(penalties.values()), penalties)


def _person_rules(
    instance: Instance, person: NrpStaff, days: list[list[str]], minutes: dict[str, int]
) -> list[Broken]:
    horizon, who = instance.horizon, person.id
    broken = _successions(instance, who, days)
    counts = Counter(shift for shifts in days for shift in shifts)
    for shift in instance.shifts:
        limit = person.max_shifts.get(shift.id, horizon)
        if counts[shift.id] > limit:
            on = tuple(d for d, shifts in enumerate(days) if shift.id in shifts)
            broken.append(Broken(MAX_OF_TYPE, who, on, f"{who} works {counts[shift.id]} {shift.id} shifts, "
                                 f"at most {limit} allowed"))
    total = sum(minutes[shift] * n for shift, n in counts.items())
    if total > person.max_total_minutes:
        broken.append(Broken(MAX_MINUTES, who, (), f"{who} works {total} minutes, at most "
                             f"{person.max_total_minutes} allowed"))
    if total < person.min_total_minutes:
        broken.append(Broken(MIN_MINUTES, who, (), f"{who} works {total} minutes, at least "
                             f"{person.min_total_minutes} required"))
    worked = [bool(shifts) for shifts in days]
    for start, length, working in _runs(worked):
        run = tuple(range(start, start + length))
        # a run touching either end of the horizon may continue outside it: only inner runs have a minimum
        inner = start > 0 and start + length < horizon
        if working and length > person.max_consecutive_shifts:
            broken.append(Broken(MAX_CONSECUTIVE, who, run, f"{who} works {length} days in a row from day {start}, "
                                 f"at most {person.max_consecutive_shifts} allowed"))
        if working and inner and length < person.min_consecutive_shifts:
            broken.append(Broken(MIN_CONSECUTIVE, who, run, f"{who} works {length} days in a row from day {start}, "
                                 f"at least {person.min_consecutive_shifts} required"))
        if not working and inner and length < person.min_consecutive_days_off:
            broken.append(Broken(MIN_DAYS_OFF, who, run, f"{who} has {length} days off in a row from day {start}, "
                                 f"at least {person.min_consecutive_days_off} required"))
    weekends = [(sunday - 1, sunday) for sunday in range(1, horizon) if (sunday + 1) % 7 == 0]
    worked_weekends = [(sat, sun) for sat, sun in weekends if worked[sat] or worked[sun]]
    if len(worked_weekends) > person.max_weekends:
        broken.append(Broken(MAX_WEEKENDS, who, tuple(d for pair in worked_weekends for d in pair),
                             f"{who} works {len(worked_weekends)} weekends, at most {person.max_weekends} allowed"))
    for day in sorted(set(instance.days_off.get(who, ()))):
        if 0 <= day < horizon and worked[day]:
            broken.append(Broken(DAY_OFF, who, (day,), f"{who} works {', '.join(days[day])} on day {day}, "
                                 "a day off"))
    return broken


def _successions(instance: Instance, who: str, days: list[list[str]]) -> list[Broken]:
    cannot_follow = {s.id: frozenset(s.cannot_follow) for s in instance.shifts}
    broken = []
    for day in range(instance.horizon - 1):
        for first in days[day]:
            for then in days[day + 1]:
                if then in cannot_follow[first]:
                    broken.append(Broken(SUCCESSION, who, (day, day + 1), f"{who} works {then} on day {day + 1} "
                                         f"after {first} on day {day}, which it may not follow"))
    return broken


def _runs(worked: list[bool]) -> list[tuple[int, int, bool]]:
    """The maximal runs of equal values: (first day, length, worked)."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for day in range(1, len(worked) + 1):
        if day == len(worked) or worked[day] != worked[start]:
            runs.append((start, day - start, worked[start]))
            start = day
    return runs


def _price(instance: Instance, days: dict[str, list[list[str]]]) -> dict[str, int]:
    """The benchmark's objective, split by kind, of the well-formed assignments laid out in ``days``."""

    def works(person: str, day: int, shift: str) -> bool:
        return person in days and 0 <= day < instance.horizon and shift in days[person][day]

    crew = Counter((day, shift) for shifts_by_day in days.values() for day, shifts in enumerate(shifts_by_day)
                   for shift in shifts)
    under = over = 0
    for c in instance.cover:
        size = crew[(c.day, c.shift)]
        under += max(0, c.requirement - size) * c.under_weight
        over += max(0, size - c.requirement) * c.over_weight
    return {
        "on requests": sum(r.weight for r in instance.on_requests if not works(r.staff, r.day, r.shift)),
        "off requests": sum(r.weight for r in instance.off_requests if works(r.staff, r.day, r.shift)),
        "under cover": under,
        "over cover": over,
    }


def describe(verdict: Verdict, *, shown: int = 3) -> str:
    """One line for a report: "valid, objective N" or "breaks K rules: <the first few>"."""
    if verdict.feasible:
        return f"valid, objective {verdict.objective}"
    first = "; ".join(f"{b.kind}: {b.detail}" for b in verdict.broken[:shown])
    more = f"; … {len(verdict.broken) - shown} more" if len(verdict.broken) > shown else ""
    return f"breaks {len(verdict.broken)} rules: {first}{more}"
