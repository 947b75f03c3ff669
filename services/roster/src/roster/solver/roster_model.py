"""The whole CP-SAT model of a ``Problem``: its variables, every rule encoded, and the objective.

Each rule goes to the module that encodes its kind: rules on a duty's crew (``crew_constraints``), on one
person's days (``person_constraints``), and the other soft rules (``soft_constraints``). Soft rules add weighted
terms to one linear objective, minimised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from ortools.sat.python import cp_model

from roster.solver import crew_constraints as crew
from roster.solver import person_constraints as person
from roster.solver import soft_constraints as soft
from roster.solver.model import (
    Composition,
    Cover,
    Fairness,
    ForbiddenSuccession,
    MaxConsecutive,
    MaxShareFromOneGroup,
    MaxWeekends,
    MinConsecutive,
    MinConsecutiveDaysOff,
    PersonSet,
    Problem,
    Request,
    Rule,
    ShiftCount,
    Stability,
    TotalMinutes,
    Unavailable,
    WeeklyCount,
)
from roster.solver.variables import RosterVariables


class RosterModel(RosterVariables):
    """The CP-SAT model of one problem. With ``assumptions`` every hard rule instance is enforced only under
    its own literal (for explaining infeasibility), and unavailable days keep their variables."""

    def __init__(
        self,
        problem: Problem,
        *,
        assumptions: bool = False,
        objective: bool = True,
        fixed: Mapping[tuple[int, int], int | None] | None = None,
    ) -> None:
        super().__init__(problem, assumptions=assumptions, fixed=fixed)
        # Successions from one duty are one constraint per person and day, unless each must be assumable.
        successions: dict[tuple[str, PersonSet], list[str]] = defaultdict(list)
        for rule in problem.rules:
            if isinstance(rule, ForbiddenSuccession) and not assumptions:
                successions[(rule.first, rule.people)].append(rule.then)
            else:
                self._add(rule)
        for (first, people), thens in successions.items():
            person.successions(self, first, thens, people)
        if objective:
            terms = [t for ts in self.objective_terms.values() for t in ts]
            offset = sum(self.objective_offset.values())
            if terms:
                self.model.minimize(
                    cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms]) + offset
                )

    def _add(self, rule: Rule) -> None:
        if isinstance(rule, Cover):
            crew.cover(self, rule)
        elif isinstance(rule, Composition):
            crew.composition(self, rule)
        elif isinstance(rule, MaxShareFromOneGroup):
            crew.max_share_from_one_group(self, rule)
        elif isinstance(rule, Unavailable):
            person.unavailable(self, rule)
        elif isinstance(rule, ForbiddenSuccession):
            person.forbidden_succession(self, rule)
        elif isinstance(rule, ShiftCount):
            person.shift_count(self, rule)
        elif isinstance(rule, WeeklyCount):
            person.weekly_count(self, rule)
        elif isinstance(rule, TotalMinutes):
            person.total_minutes(self, rule)
        elif isinstance(rule, MaxConsecutive):
            person.max_consecutive(self, rule)
        elif isinstance(rule, MinConsecutive | MinConsecutiveDaysOff):
            person.min_consecutive(self, rule)
        elif isinstance(rule, MaxWeekends):
            person.max_weekends(self, rule)
        elif isinstance(rule, Request):
            soft.request(self, rule)
        elif isinstance(rule, Fairness):
            soft.fairness(self, rule)
        elif isinstance(rule, Stability):
            soft.stability(self, rule)
        else:  # pragma: no cover - the Rule union is closed
            raise TypeError(f"unknown rule {rule!r}")
