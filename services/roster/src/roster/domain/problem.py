"""A period's tables as the solver's rule model (roster.solver.model): rules as data, no I/O.

Each duty is a solver shift type (id = duty id); each cohort member a person; a shift of the roster is a duty on
a day (its stored shift id, ``<period>:<duty>@<date>``). Hard rules: cover (exact size), composition, skills,
availability, one duty a day, rest between consecutive days' duties, max consecutive nights (counting the nights
at the end of the previous period), max duties per week and per period, min days off in a row, the night spread.
Soft rules: members' requests, fairness of nights cumulative across past periods, and few changes when re-planning.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from roster.domain.members import CIVILIAN_ROLES, ROLE_ZH, MemberRole
from roster.domain.periods import CompositionIn, PeriodRules, is_night, period_days, shift_id
from roster.solver import model as m


@dataclass(frozen=True)
class DutyFacts:
    duty_id: str
    title: str
    kind: str
    area: str | None
    start_time: time
    end_time: time
    weekdays: tuple[int, ...]
    required_size: int
    composition: CompositionIn
    required_skills: frozenset[str] = frozenset()

    @property
    def night(self) -> bool:
        return is_night(self.start_time, self.end_time)

    @property
    def minutes(self) -> int:
        start = self.start_time.hour * 60 + self.start_time.minute
        end = self.end_time.hour * 60 + self.end_time.minute
        return end - start if end > start else end + 24 * 60 - start


@dataclass(frozen=True)
class MemberFacts:
    member_id: str
    name: str
    org_id: str
    role: str
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Absence:
    member_id: str
    from_day: date
    to_day: date
    reason: str


@dataclass(frozen=True)
class Wish:
    member_id: str
    day: date
    duty_id: str | None
    wants: bool
    weight: int


@dataclass(frozen=True)
class PeriodFacts:
    """All a solve reads about a period, loaded in one transaction."""

    period_id: str
    name: str
    starts_on: date
    ends_on: date
    rules: PeriodRules
    duties: tuple[DutyFacts, ...]
    members: tuple[MemberFacts, ...]
    absences: tuple[Absence, ...] = ()
    wishes: tuple[Wish, ...] = ()
    past_nights: Mapping[str, int] = field(default_factory=dict)  # cumulative, earlier published periods
    past_duties: Mapping[str, int] = field(default_factory=dict)
    nights_before: Mapping[str, int] = field(default_factory=dict)  # nights in a row ending the day before
    previous: tuple[tuple[str, str], ...] = ()  # (member id, shift id) published now, when re-planning
    # (duty id, day) -> the shift's stored id: shifts made before duty ids were per period keep ``<duty>@<day>``.
    shift_ids: Mapping[tuple[str, date], str] = field(default_factory=dict)

    @property
    def days(self) -> list[date]:
        return period_days(self.starts_on, self.ends_on)

    def shift_of(self, duty_id: str, day: date) -> str:
        return self.shift_ids.get((duty_id, day)) or shift_id(self.period_id, duty_id, day)


CIVILIAN_WORDS = frozenset(ROLE_ZH[MemberRole(r)] for r in CIVILIAN_ROLES)


def role_word(role: str) -> str:
    return ROLE_ZH[MemberRole(role)] if role in MemberRole._value2member_map_ else role


def rest_hours(first: DutyFacts, then: DutyFacts) -> float:
    """Hours between ``first`` ending on day d and ``then`` starting on day d+1."""
    first_end = first.end_time.hour + first.end_time.minute / 60 + (24 if first.end_time <= first.start_time else 0)
    then_start = 24 + then.start_time.hour + then.start_time.minute / 60
    return then_start - first_end


def runs_on(duty: DutyFacts, day: date) -> bool:
    return day.isoweekday() in duty.weekdays


def nights_in_a_row(served: Mapping[str, Collection[date]], start: date) -> dict[str, int]:
    """How many nights in a row each member served up to the day before ``start`` (those with none left out):
    what the period's max-consecutive-nights rule counts from before its first day."""
    out: dict[str, int] = {}
    for member, nights in served.items():
        run, day = 0, start - timedelta(days=1)
        while day in nights:
            run, day = run + 1, day - timedelta(days=1)
        if run:
            out[member] = run
    return out


def build_problem(facts: PeriodFacts) -> m.Problem:
    days = facts.days
    index = {day: i for i, day in enumerate(days)}
    shifts = tuple(
        m.ShiftType(id=d.duty_id, name=d.title, minutes=d.minutes, night=d.night, area=d.area,
                    skills=d.required_skills, starts=d.start_time)
        for d in facts.duties
    )
    # Roles go to the solver as their Chinese words: its explanations then say 至少1名民警, not "police".
    people = tuple(m.Person(id=p.member_id, name=p.name, organisation=p.org_id, role=role_word(p.role),
                            skills=p.skills) for p in facts.members)
    cohort = {p.member_id for p in facts.members}
    rules: list[m.Rule] = []
    for duty in facts.duties:
        run_days = frozenset(i for i, day in enumerate(days) if runs_on(duty, day))
        for i in range(len(days)):
            # On a day the duty does not run, nobody takes it: without a cover of none the solver may put members
            # there (to even out loads), and those shifts do not exist.
            size = duty.required_size if i in run_days else 0
            rules.append(m.Cover(day=i, shift=duty.duty_id, required=size, maximum=size))
        if not run_days:
            continue
        only = frozenset({duty.duty_id})
        comp = duty.composition
        for role, count in comp.min_by_role.items():
            rules.append(m.Composition(shifts=only, attribute="role", values=frozenset({ROLE_ZH[role]}),
                                       min_count=count, days=run_days))
        for role, count in comp.max_by_role.items():
            rules.append(m.Composition(shifts=only, attribute="role", values=frozenset({ROLE_ZH[role]}),
                                       max_count=count, days=run_days))
        if comp.min_civilians:
            rules.append(m.Composition(shifts=only, attribute="role", values=CIVILIAN_WORDS,
                                       min_count=comp.min_civilians, days=run_days))
        share = comp.share()
        if share is not None and share < 1:
            rules.append(m.MaxShareFromOneGroup(shifts=only, numerator=share.numerator,
                                                denominator=share.denominator, days=run_days))
    for absence in facts.absences:
        if absence.member_id not in cohort:
            continue
        for day in days:
            if absence.from_day <= day <= absence.to_day:
                rules.append(m.Unavailable(person=absence.member_id, day=index[day], reason=absence.reason or "不可用"))
    r = facts.rules
    for first in facts.duties:
        for then in facts.duties:
            if rest_hours(first, then) < r.min_rest_hours:
                rules.append(m.ForbiddenSuccession(first=first.duty_id, then=then.duty_id))
    nights = frozenset(d.duty_id for d in facts.duties if d.night)
    if nights and r.max_consecutive_nights is not None:
        before = {k: v for k, v in facts.nights_before.items() if k in cohort and v > 0}
        rules.append(m.MaxConsecutive(people=None, maximum=r.max_consecutive_nights, shifts=nights, before=before))
    if r.max_duties_per_week is not None:
        rules.append(m.WeeklyCount(people=None, maximum=r.max_duties_per_week))
    if r.max_duties_per_period is not None:
        rules.append(m.ShiftCount(people=None, maximum=r.max_duties_per_period))
    if r.min_days_off_in_row is not None:
        rules.append(m.MinConsecutiveDaysOff(people=None, minimum=r.min_days_off_in_row))
    for wish in facts.wishes:
        if wish.member_id in cohort and wish.day in index:
            rules.append(m.Request(person=wish.member_id, day=index[wish.day], shift=wish.duty_id, wants=wish.wants,
                                   weight=wish.weight))
    if nights:
        rules.append(m.Fairness(shifts=nights, weight=r.fairness_weight,
                                history={k: v for k, v in facts.past_nights.items() if k in cohort},
                                max_period_spread=r.max_night_spread))
    rules.append(m.Fairness(shifts=None, weight=1,
                            history={k: v for k, v in facts.past_duties.items() if k in cohort}))
    if facts.previous:
        by_shift = {facts.shift_of(d.duty_id, day): (d.duty_id, index[day]) for d in facts.duties for day in days}
        previous = tuple(m.Assignment(person=member, day=by_shift[sid][1], shift=by_shift[sid][0])
                         for member, sid in facts.previous if sid in by_shift and member in cohort)
        rules.append(m.Stability(previous=previous, weight=r.stability_weight))
    return m.Problem(horizon=m.Horizon(days=len(days), start=facts.starts_on), shifts=shifts, people=people,
                     rules=tuple(rules), name=facts.name)


def assignments_by_shift(facts: PeriodFacts, assignments: Sequence[m.Assignment]) -> dict[str, list[str]]:
    """The solver's (person, day, duty) as shift id → member ids."""
    days = facts.days
    out: dict[str, list[str]] = {}
    for a in assignments:
        out.setdefault(facts.shift_of(a.shift, days[a.day]), []).append(a.person)
    return {k: sorted(v) for k, v in out.items()}
