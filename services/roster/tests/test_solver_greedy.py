"""The guess a period's search starts from: crews filled day by day, by the least loaded who fit. Judged by the
year-of-periods checker (roster.testing.year.hard_rule_breaks), which reads the period's facts, not the solver."""

from __future__ import annotations

from collections import Counter

from roster.domain.problem import build_problem
from roster.solver.greedy import guess
from roster.testing.township import period_facts, township
from roster.testing.year import hard_rule_breaks


def test_a_township_period_is_guessed_with_every_crew_full_and_made_up_as_asked() -> None:
    facts = period_facts(township(200, seed=0), 0, days=28, seed=0)
    roster = guess(build_problem(facts))
    assert hard_rule_breaks(facts, roster) == []
    crews = Counter((a.day, a.shift) for a in roster)
    assert len(crews) == sum(1 for d in facts.duties for day in facts.days if day.isoweekday() in d.weekdays)


def test_what_a_guess_cannot_keep_is_left_for_the_search_not_forced() -> None:
    # 60 members over 14 days: the nights cannot all be spread evenly by a day-by-day guess; the crews still are
    facts = period_facts(township(60, seed=0), 0, days=14, seed=0)
    breaks = hard_rule_breaks(facts, guess(build_problem(facts)))
    assert all(b.startswith("nights per member spread") for b in breaks), breaks
