"""The roster solver's rule model: a problem is data (horizon, duty types, people, rules), never code.

One model serves both the field's rotation periods (轮值轮训: day training and night patrols per area, police and
civilians together, fair turns across the year) and the standard shift-scheduling benchmark (Curtois instances).
Everything here is a frozen dataclass, so a problem can be built by the roster service from its tables, by the
benchmark loader from a text file, or by a test by hand, and handed to ``solve`` unchanged.

Days are 0-based indexes into the horizon. A rule that names people uses a ``PersonSet`` (``None`` = everyone);
one that names duty types uses a ``ShiftSet`` (``None`` = any duty). A soft rule carries a weight; a hard rule
does not. The solver minimises the weighted sum of the soft rules' violations.

What a solve answers (``Solution``, ``Status``…) is in ``roster.solver.answer``; the calendar of the period's
days (``Horizon``) in ``roster.solver.horizon``, named here too as a problem's part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from roster.solver.horizon import Horizon  # a problem's part: callers name it as roster.solver.model.Horizon too

PersonSet = frozenset[str] | None
"""People a rule applies to, by id; ``None`` means everyone in the problem."""

ShiftSet = frozenset[str] | None
"""Duty types a rule counts, by id; ``None`` means any duty (i.e. "working that day")."""


# --------------------------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class ShiftType:
    """A duty type: a day training session, a night road patrol on a route, a checkpoint, …

    ``night`` marks the duties the night rules count (max consecutive nights, night fairness). ``area`` is the
    area/route a night patrol covers (the patrol service plans rounds from it). ``skills`` must all be held by
    whoever takes the duty."""

    id: str
    name: str
    minutes: int = 480
    night: bool = False
    area: str | None = None
    skills: frozenset[str] = frozenset()
    starts: dt.time | None = None


@dataclass(frozen=True)
class Person:
    """A member of the period's cohort. ``role``: police / patrol / activist / guard / militia (any string)."""

    id: str
    name: str
    organisation: str | None = None
    role: str | None = None
    skills: frozenset[str] = frozenset()


# -------------------------------------------------------------------------------------------------- hard rules


@dataclass(frozen=True)
class Cover:
    """How many people a duty needs on a day.

    Hard when ``under_weight`` is None: at least ``required`` (and at most ``maximum`` if given). Soft (the
    benchmark's cover) when weights are given: each person short costs ``under_weight``, each person above
    ``required`` costs ``over_weight``; ``maximum`` stays hard if given."""

    day: int
    shift: str
    required: int
    maximum: int | None = None
    under_weight: int | None = None
    over_weight: int | None = None


@dataclass(frozen=True)
class Composition:
    """Who a duty's crew is made of, on each of ``days`` (``None`` = every day the duty is covered).

    Counts the crew members whose ``attribute`` ("role", "organisation", or "skill:<name>") is in ``values``:
    at least ``min_count`` and at most ``max_count``. E.g. at least one police officer:
    ``Composition(shifts=frozenset({"night-a"}), attribute="role", values=frozenset({"police"}), min_count=1)``.
    """

    shifts: ShiftSet
    attribute: str
    values: frozenset[str]
    min_count: int | None = None
    max_count: int | None = None
    days: frozenset[int] | None = None


@dataclass(frozen=True)
class MaxShareFromOneGroup:
    """No more than ``numerator/denominator`` of a duty's crew from any one group (default: organisation);
    e.g. no more than half from one organisation. Applies on ``days`` (None = all)."""

    shifts: ShiftSet
    numerator: int = 1
    denominator: int = 2
    attribute: str = "organisation"
    days: frozenset[int] | None = None


@dataclass(frozen=True)
class Unavailable:
    """A person cannot take a duty on a day (``shift`` None = any duty). ``reason``: 请假, 出差, 培训, …"""

    person: str
    day: int
    shift: str | None = None
    reason: str = "不可用"


@dataclass(frozen=True)
class ForbiddenSuccession:
    """A person on ``first`` on day d may not be on ``then`` on day d+1 (a night patrol is not followed by
    next morning's training)."""

    first: str
    then: str
    people: PersonSet = None


@dataclass(frozen=True)
class ShiftCount:
    """Between ``minimum`` and ``maximum`` duties of ``shifts`` in the whole period (max duties per period, the
    benchmark's max shifts per type). ``minimum`` 0 = no lower bound; ``maximum`` None = no upper bound."""

    people: PersonSet
    shifts: ShiftSet = None
    maximum: int | None = None
    minimum: int = 0


@dataclass(frozen=True)
class WeeklyCount:
    """At most ``maximum`` duties of ``shifts`` in each calendar week (Monday–Sunday) of the horizon."""

    people: PersonSet
    maximum: int
    shifts: ShiftSet = None


@dataclass(frozen=True)
class TotalMinutes:
    """Total minutes of duty in the period between ``minimum`` and ``maximum`` (the benchmark's contract)."""

    people: PersonSet
    minimum: int = 0
    maximum: int | None = None


@dataclass(frozen=True)
class MaxConsecutive:
    """At most ``maximum`` days in a row on ``shifts`` (None = any duty: max consecutive working days; the
    night duties: max consecutive nights). ``before`` counts such days at the end of the previous period."""

    people: PersonSet
    maximum: int
    shifts: ShiftSet = None
    before: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MinConsecutive:
    """A run of working days that starts after day 0 lasts at least ``minimum`` days, or reaches the end of the
    horizon (the benchmark's min consecutive shifts; a run already under way on day 0 is not judged)."""

    people: PersonSet
    minimum: int


@dataclass(frozen=True)
class MinConsecutiveDaysOff:
    """A run of days off that starts after day 0 lasts at least ``minimum`` days, or reaches the end of the
    horizon (rest in a row, not scattered single days)."""

    people: PersonSet
    minimum: int


@dataclass(frozen=True)
class MaxWeekends:
    """At most ``maximum`` weekends with a duty on Saturday or Sunday."""

    people: PersonSet
    maximum: int


# -------------------------------------------------------------------------------------------------- soft rules


@dataclass(frozen=True)
class Request:
    """A person asks for (``wants`` True) or against a duty on a day (``shift`` None = any duty / a day off).
    Costs ``weight`` when not granted."""

    person: str
    day: int
    shift: str | None
    wants: bool
    weight: int = 1


@dataclass(frozen=True)
class Fairness:
    """Even out the load of ``shifts`` (e.g. the nights) among ``people``.

    ``history`` holds each person's count from past periods (cumulative over the year, so turns rotate).
    The solver minimises ``weight`` × (most loaded − least loaded) of history + this period's count, and
    ``period_weight`` × the same spread of this period's counts alone. ``max_period_spread``, when given, is
    hard: this period's counts differ by at most that much.
    """

    shifts: ShiftSet
    people: PersonSet = None
    weight: int = 10
    period_weight: int = 1
    history: Mapping[str, int] = field(default_factory=dict)
    max_period_spread: int | None = None


@dataclass(frozen=True)
class Assignment:
    """One person on one duty on one day."""

    person: str
    day: int
    shift: str


@dataclass(frozen=True)
class Stability:
    """Re-planning a published roster: each assignment of ``previous`` that is dropped costs ``weight``, and
    each new assignment costs ``weight`` too (a change is something an organiser has to tell someone)."""

    previous: tuple[Assignment, ...]
    weight: int = 100


Rule = (
    Cover
    | Composition
    | MaxShareFromOneGroup
    | Unavailable
    | ForbiddenSuccession
    | ShiftCount
    | WeeklyCount
    | TotalMinutes
    | MaxConsecutive
    | MinConsecutive
    | MinConsecutiveDaysOff
    | MaxWeekends
    | Request
    | Fairness
    | Stability
)


@dataclass(frozen=True)
class Problem:
    """A whole rostering problem. Every person takes at most one duty a day (always hard). A person takes a
    duty only if they hold its skills."""

    horizon: Horizon
    shifts: tuple[ShiftType, ...]
    people: tuple[Person, ...]
    rules: tuple[Rule, ...]
    name: str = ""

