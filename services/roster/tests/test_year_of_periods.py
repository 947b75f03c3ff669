"""Periods solved one after the other for a small township (60 members, 4 periods of 14 days), each roster carried
into the next period's fairness history as the service carries a published one: every period gets a roster that
keeps the hard rules, checked from the facts by roster.testing.year's own checker (not by the solver), nights in a
row across a period's end included, and every period's problem carries the cumulative counts of the ones before.

What is not asserted: that the cumulative spread with history ends below the one without. Under a time limit the
solver returns its best roster so far, not a proven optimum, so nothing guarantees it; bench/roster_year.py prints
both spreads side by side.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from roster.domain.problem import PeriodFacts, build_problem
from roster.solver import Assignment, Fairness, MaxConsecutive, Status
from roster.testing.township import period_facts, township
from roster.testing.year import PeriodRun, Served, hard_rule_breaks, solve_period, spread

PERIODS = 4
DAYS = 14
TIME_LIMIT_S = 2.5

pytestmark = pytest.mark.slow  # four solves of 2.5 s


@dataclasses.dataclass(frozen=True)
class Year:
    facts: list[PeriodFacts]  # as solved: with the history carried from the periods before
    runs: list[PeriodRun]
    served: Served


@pytest.fixture(scope="module")
def year() -> Year:
    town = township(60, seed=3)
    served = Served()
    facts, runs = [], []
    for index in range(PERIODS):
        period = served.history(period_facts(town, index, days=DAYS, seed=3))
        run = solve_period(period, time_limit_s=TIME_LIMIT_S)
        served.add(period, run.assignments)
        facts.append(period)
        runs.append(run)
    return Year(facts, runs, served)


def test_every_period_gets_a_roster_that_keeps_the_hard_rules(year: Year) -> None:
    for period, run in zip(year.facts, year.runs, strict=True):
        assert run.status in (Status.OPTIMAL, Status.FEASIBLE), period.name
        assert hard_rule_breaks(period, run.assignments) == [], period.name
        night_ids = {d.duty_id for d in period.duties if d.night}
        nights = Counter(a.person for a in run.assignments if a.shift in night_ids)
        per_member = {m.member_id: nights[m.member_id] for m in period.members}
        assert spread(per_member) <= (period.rules.max_night_spread or 0)  # hard: within the period


def test_each_period_carries_the_counts_of_the_periods_before(year: Year) -> None:
    nights: Counter[str] = Counter()
    duties: Counter[str] = Counter()
    for period, run in zip(year.facts, year.runs, strict=True):
        assert dict(period.past_nights) == {k: v for k, v in nights.items() if v}
        assert dict(period.past_duties) == dict(duties)
        fairness = [r for r in build_problem(period).rules if isinstance(r, Fairness)]
        assert [dict(r.history) for r in fairness] == [dict(period.past_nights), dict(period.past_duties)]
        night_ids = {d.duty_id for d in period.duties if d.night}
        duties.update(a.person for a in run.assignments)
        nights.update(a.person for a in run.assignments if a.shift in night_ids)
    loads = year.served.loads(m.member_id for m in year.facts[0].members)
    assert (sum(loads[0].values()), sum(loads[1].values())) == (duties.total(), nights.total())


def test_nights_in_a_row_at_a_periods_end_count_in_the_next(year: Year) -> None:
    first, second = year.facts[0], year.facts[1]
    last_day = len(first.days) - 1
    night_ids = {d.duty_id for d in first.duties if d.night}
    on_last_night = {a.person for a in year.runs[0].assignments if a.day == last_day and a.shift in night_ids}
    assert on_last_night and on_last_night <= set(second.nights_before)
    rule = next(r for r in build_problem(second).rules if isinstance(r, MaxConsecutive))
    assert dict(rule.before) == dict(second.nights_before)


def test_the_checker_finds_a_crew_short_and_nights_in_a_row_across_the_periods_end(year: Year) -> None:
    second, run = year.facts[1], year.runs[1]
    dropped = run.assignments[1:]
    assert any("on the crew, needs" in b for b in hard_rule_breaks(second, dropped))
    limit = second.rules.max_consecutive_nights or 0
    member = next(iter(second.nights_before))
    night = next(d.duty_id for d in second.duties if d.night)
    # The member ended the last period on nights: as many more from day 0 on goes past the limit.
    extra = tuple(Assignment(member, day, night) for day in range(limit + 1 - second.nights_before[member]))
    kept = tuple(a for a in run.assignments if a.person != member or a.day > len(extra))
    assert any("nights in a row" in b for b in hard_rule_breaks(second, (*kept, *extra)))
