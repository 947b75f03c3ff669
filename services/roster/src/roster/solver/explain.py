"""Why a problem has no roster: a minimal conflicting set of rule instances, in an organiser's words.

CP-SAT is asked, with one assumption literal per rule instance (a day's cover, a person's limit, a person's
day off…), for a sufficient subset of assumptions that is already infeasible. That subset is then shrunk by a
deletion filter: drop one instance, and if the rest is still infeasible it was not needed. Within the time
budget the result is minimal (dropping any one rule makes the rest satisfiable); past it, it is still a
conflicting set, marked not minimal.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

from ortools.sat.python import cp_model

from roster.solver.answer import Conflict, Explanation
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
    Problem,
    ShiftCount,
    ShiftSet,
    TotalMinutes,
    Unavailable,
    WeeklyCount,
)
from roster.solver.roster_model import RosterModel
from roster.solver.search import solver_parameters
from roster.solver.variables import RuleInstance

ROLE_ZH = {
    "police": "民警",
    "patrol": "巡逻队员",
    "activist": "治安积极分子",
    "guard": "保安",
    "militia": "民兵",
}
ATTRIBUTE_ZH = {"organisation": "单位", "role": "身份", "skills": "技能"}


def explain(problem: Problem, *, time_limit_s: float = 10.0) -> Explanation:
    started = time.monotonic()
    built = RosterModel(problem, assumptions=True, objective=False)
    literals = list(built.literals)
    outcome, core = assumption_core(built, literals, max(0.5, time_limit_s * 0.4))
    if outcome != "infeasible":
        return Explanation(
            summary="在时限内未能找出冲突的规则（问题可能过大），请放宽时限后重试。",
            conflicts=(),
            minimal=False,
        )
    if not core:
        return Explanation(
            summary="人员的技能与每人每天最多一项任务的要求本身就无法满足：没有任何人具备所需技能，或任务多于人手。",
            conflicts=(),
            minimal=True,
        )
    minimal = True
    candidates = list(core)
    kept: list[cp_model.IntVar] = []
    while candidates:
        elapsed = time.monotonic() - started
        if elapsed > time_limit_s:
            kept += candidates
            minimal = False
            break
        lit = candidates.pop(0)
        trial = kept + candidates
        step = max(0.2, min(2.0, (time_limit_s - elapsed) / (len(candidates) + 1)))
        outcome, smaller = assumption_core(built, trial, step)
        if outcome == "infeasible":
            # ``lit`` is not needed. Those already kept each proved necessary against a superset of what
            # remains, so they stay; of the rest, keep only what the solver's smaller core still uses.
            if smaller:
                used = {v.index for v in smaller}
                candidates = [v for v in candidates if v.index in used]
        else:
            if outcome == "unknown":
                minimal = False
            kept.append(lit)
    instances = [built.literals[v] for v in kept]
    return render(problem, instances, minimal)


def assumption_core(
    built: RosterModel, literals: Sequence[cp_model.IntVar], time_limit_s: float
) -> tuple[str, list[cp_model.IntVar]]:
    """Solve under ``literals``; return ("infeasible", a sufficient subset) / ("feasible", []) / ("unknown", [])."""
    model = built.model
    model.clear_assumptions()
    model.add_assumptions(literals)
    solver = cp_model.CpSolver()
    solver_parameters(solver, time_limit_s, 1)
    code = solver.solve(model)
    if code == cp_model.INFEASIBLE:
        index = {lit.index: lit for lit in literals}
        core = [index[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in index]
        return "infeasible", core
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return "feasible", []
    return "unknown", []


def _names(problem: Problem, shifts: ShiftSet) -> str:
    if shifts is None:
        return "任务"
    by_id = {s.id: s.name for s in problem.shifts}
    return "、".join(by_id.get(s, s) for s in sorted(shifts))


def describe(problem: Problem, item: RuleInstance) -> Conflict:
    """One rule instance as a Chinese sentence naming whom and when."""
    people = {p.id: p.name for p in problem.people}
    shift_names = {s.id: s.name for s in problem.shifts}
    horizon = problem.horizon
    rule = item.rule
    who = people.get(item.person or "", item.person or "")
    day = horizon.label(item.day) if item.day is not None else ""
    duty = shift_names.get(item.shift or "", item.shift or "")
    person_t = (item.person,) if item.person else ()
    day_t = (item.day,) if item.day is not None else ()
    shift_t = (item.shift,) if item.shift else ()
    kind = type(rule).__name__
    if isinstance(rule, Cover):
        need = f"{day}{duty}需要{rule.required}人"
        if rule.maximum is not None and rule.maximum != rule.required:
            need += f"（最多{rule.maximum}人）"
        return Conflict(kind, need, (), day_t, shift_t)
    if isinstance(rule, Composition):
        what = "、".join(ROLE_ZH.get(v, v) for v in sorted(rule.values))
        parts = []
        if rule.min_count is not None:
            parts.append(f"至少{rule.min_count}名{what}")
        if rule.max_count is not None:
            parts.append(f"至多{rule.max_count}名{what}")
        return Conflict(kind, f"{day}{duty}须有" + "、".join(parts), (), day_t, shift_t)
    if isinstance(rule, MaxShareFromOneGroup):
        group = ATTRIBUTE_ZH.get(rule.attribute, rule.attribute)
        text = f"{day}{duty}来自同一{group}的人员不超过{rule.numerator}/{rule.denominator}"
        if (rule.numerator, rule.denominator) == (1, 2):
            text = f"{day}{duty}来自同一{group}的人员不超过一半"
        return Conflict(kind, text, (), day_t, shift_t)
    if isinstance(rule, Unavailable):
        what = f"不能担任{shift_names.get(rule.shift, rule.shift)}" if rule.shift else rule.reason
        if rule.shift and rule.reason != "不可用":
            what = f"{rule.reason}，{what}"
        return Conflict(kind, f"{who}{day}{what}", person_t, day_t, (rule.shift,) if rule.shift else ())
    if isinstance(rule, ForbiddenSuccession):
        first = shift_names.get(rule.first, rule.first)
        then = shift_names.get(rule.then, rule.then)
        return Conflict(kind, f"{who}：{first}的次日不能安排{then}", person_t, (), (rule.first, rule.then))
    if isinstance(rule, ShiftCount):
        what = _names(problem, rule.shifts)
        parts = []
        if rule.maximum is not None:
            parts.append(f"最多{rule.maximum}次")
        if rule.minimum:
            parts.append(f"至少{rule.minimum}次")
        return Conflict(kind, f"{who}本期{what}" + "、".join(parts), person_t)
    if isinstance(rule, WeeklyCount):
        return Conflict(kind, f"{who}每周{_names(problem, rule.shifts)}最多{rule.maximum}次", person_t)
    if isinstance(rule, TotalMinutes):
        parts = []
        if rule.minimum:
            parts.append(f"至少{rule.minimum / 60:g}小时")
        if rule.maximum is not None:
            parts.append(f"至多{rule.maximum / 60:g}小时")
        return Conflict(kind, f"{who}本期值班时长" + "、".join(parts), person_t)
    if isinstance(rule, MaxConsecutive):
        what = "值班" if rule.shifts is None else _names(problem, rule.shifts)
        before = rule.before.get(item.person or "", 0)
        tail = f"（上期末已连续{before}天）" if before else ""
        return Conflict(kind, f"{who}最多连续{rule.maximum}天{what}{tail}", person_t)
    if isinstance(rule, MinConsecutive):
        return Conflict(kind, f"{who}一旦上岗须连续值班至少{rule.minimum}天", person_t)
    if isinstance(rule, MinConsecutiveDaysOff):
        return Conflict(kind, f"{who}休息须连续至少{rule.minimum}天", person_t)
    if isinstance(rule, MaxWeekends):
        return Conflict(kind, f"{who}本期最多{rule.maximum}个周末值班", person_t)
    if isinstance(rule, Fairness):
        return Conflict(
            kind, f"本期{_names(problem, rule.shifts)}次数人与人之间最多相差{rule.max_period_spread}次"
        )
    return Conflict(kind, kind)


def render(problem: Problem, instances: list[RuleInstance], minimal: bool) -> Explanation:
    """Sentences per conflicting rule, and a summary that ties each day's cover to who is missing that day."""
    conflicts = [describe(problem, item) for item in instances]
    people = {p.id: p for p in problem.people}
    absences: dict[int, list[tuple[RuleInstance, Conflict]]] = defaultdict(list)
    others: list[Conflict] = []
    covers: list[tuple[RuleInstance, Conflict]] = []
    for item, conflict in zip(instances, conflicts, strict=True):
        if isinstance(item.rule, Unavailable):
            absences[item.rule.day].append((item, conflict))
        elif isinstance(item.rule, Cover):
            covers.append((item, conflict))
        else:
            others.append(conflict)
    sentences: list[str] = []
    used_days: set[int] = set()
    blocked_by_day: dict[int, set[str]] = defaultdict(set)
    for rule in problem.rules:
        if isinstance(rule, Unavailable) and rule.shift is None:
            blocked_by_day[rule.day].add(rule.person)
    for item, conflict in covers:
        assert isinstance(item.rule, Cover)
        shift = next(s for s in problem.shifts if s.id == item.rule.shift)
        able = [p for p in problem.people if shift.skills <= p.skills and p.id not in blocked_by_day[item.rule.day]]
        text = conflict.text
        day_absences = absences.get(item.rule.day, [])
        if len(able) < item.rule.required:
            text += f"，但只有{len(able)}人可用"
        elif day_absences:
            text += f"，可用{len(able)}人"
        if day_absences:
            used_days.add(item.rule.day)
            reasons = "，".join(
                f"{people[a.rule.person].name}{a.rule.reason}"
                for a, _ in day_absences
                if isinstance(a.rule, Unavailable)
            )
            text += f"：{reasons}"
        sentences.append(text)
    for day, items in sorted(absences.items()):
        if day not in used_days:
            sentences += [c.text for _, c in items]
    sentences += [c.text for c in others]
    summary = "排班无法满足，以下规则相互冲突：" + "；".join(sentences) + "。"
    if minimal:
        summary += "放宽其中任意一条即可排出班表。"
    return Explanation(summary=summary, conflicts=tuple(conflicts), minimal=minimal)
