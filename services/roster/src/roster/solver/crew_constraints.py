"""The rules on a duty's crew on one day, as CP-SAT constraints: how many (``Cover``), who they are made of
(``Composition``), and how much of the crew one group may be (``MaxShareFromOneGroup``).

A crew is the sum of the day's ``x`` of that duty over everyone who may take it. A cover with weights is soft:
each person short or over costs its weight in the objective.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from roster.solver.model import Composition, Cover, MaxShareFromOneGroup, Person
from roster.solver.variables import RosterVariables, RuleInstance


def attribute_of(person: Person, attribute: str) -> frozenset[str]:
    """A person's values for a composition attribute: role, organisation, or skill:<name> / skills."""
    if attribute == "role":
        return frozenset() if person.role is None else frozenset({person.role})
    if attribute == "organisation":
        return frozenset() if person.organisation is None else frozenset({person.organisation})
    if attribute == "skills":
        return person.skills
    if attribute.startswith("skill:"):
        name = attribute.removeprefix("skill:")
        return frozenset({name}) if name in person.skills else frozenset()
    raise ValueError(f"unknown composition attribute {attribute!r}")


def cover(built: RosterVariables, rule: Cover) -> None:
    m = built.model
    s = built.shift_index[rule.shift]
    crew = [v for p in range(len(built.problem.people)) if (v := built.x[p][rule.day][s]) is not None]
    size = cp_model.LinearExpr.sum(crew)
    instance = RuleInstance(rule, day=rule.day, shift=rule.shift)
    if rule.maximum is not None:
        built.enforce(m.add(size <= rule.maximum), instance)
    if rule.under_weight is None:
        built.enforce(m.add(size >= rule.required), instance)
    else:
        under = m.new_int_var(0, rule.required, f"under{rule.day}_{s}")
        m.add(size + under >= rule.required)
        built.objective_terms["Cover"].append((under, rule.under_weight))
    if rule.over_weight:
        over = m.new_int_var(0, max(0, len(crew) - rule.required), f"over{rule.day}_{s}")
        m.add(size - over <= rule.required)
        built.objective_terms["Cover"].append((over, rule.over_weight))


def composition(built: RosterVariables, rule: Composition) -> None:
    m = built.model
    for s in built.shifts_of(rule.shifts):
        days = sorted(rule.days) if rule.days is not None else sorted(built.cover_days[s])
        members = [
            p for p, person in enumerate(built.problem.people)
            if attribute_of(person, rule.attribute) & rule.values
        ]
        for d in days:
            count = cp_model.LinearExpr.sum(
                [v for p in members if (v := built.x[p][d][s]) is not None]
            )
            instance = RuleInstance(rule, day=d, shift=built.problem.shifts[s].id)
            if rule.min_count is not None:
                built.enforce(m.add(count >= rule.min_count), instance)
            if rule.max_count is not None:
                built.enforce(m.add(count <= rule.max_count), instance)


def max_share_from_one_group(built: RosterVariables, rule: MaxShareFromOneGroup) -> None:
    m = built.model
    groups: dict[str, list[int]] = defaultdict(list)
    for p, person in enumerate(built.problem.people):
        for g in attribute_of(person, rule.attribute):
            groups[g].append(p)
    for s in built.shifts_of(rule.shifts):
        days = sorted(rule.days) if rule.days is not None else sorted(built.cover_days[s])
        for d in days:
            crew = [v for p in range(len(built.problem.people)) if (v := built.x[p][d][s]) is not None]
            instance = RuleInstance(rule, day=d, shift=built.problem.shifts[s].id)
            for members in groups.values():
                group = [v for p in members if (v := built.x[p][d][s]) is not None]
                if group:
                    ct = m.add(
                        rule.denominator * cp_model.LinearExpr.sum(group)
                        <= rule.numerator * cp_model.LinearExpr.sum(crew)
                    )
                    built.enforce(ct, instance)
