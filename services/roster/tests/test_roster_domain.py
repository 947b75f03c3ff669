"""roster's pure rules, without I/O: shifts a duty makes, rest between days, the swap check's refusals in words,
and a period mapped onto the solver's rule model."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from roster.domain.periods import CompositionIn, PeriodRules, shift_slots
from roster.domain.problem import (
    DutyFacts,
    MemberFacts,
    PeriodFacts,
    assignments_by_shift,
    build_problem,
    rest_hours,
)
from roster.domain.swaps import HeldShift, crew_violations, taking_violations
from roster.solver import model as m

ZONE = ZoneInfo("Asia/Shanghai")
NIGHT = DutyFacts("night", "塘下镇夜间巡逻", "road-patrol", "塘下镇", time(20), time(2), (1, 2, 3, 4, 5, 6, 7), 4,
                  CompositionIn(min_by_role={"police": 1}, min_civilians=3, max_share_per_org=0.5))
TRAINING = DutyFacts("training", "白天学习训练", "training", None, time(8, 30), time(11, 30), (1, 2, 3, 4, 5), 2,
                     CompositionIn())
FIRE = DutyFacts("fire", "消防检查", "fire-check", None, time(14), time(17), (1, 2, 3, 4, 5, 6, 7), 1, CompositionIn(),
                 frozenset({"消防"}))
MON = date(2026, 12, 7)


def test_a_night_duty_ends_the_next_morning_and_runs_on_its_weekdays_only() -> None:
    slots = shift_slots("263", "night", time(20), time(2), [1, 3], MON, MON + timedelta(days=6), ZONE)
    assert [s.day for s in slots] == [MON, MON + timedelta(days=2)]
    assert slots[0].starts_at.astimezone(ZONE).hour == 20
    assert slots[0].ends_at.astimezone(ZONE).date() == MON + timedelta(days=1)
    assert slots[0].shift_id == "263:night@2026-12-07"  # the period's own `night`: 264 may have one too


def test_rest_between_consecutive_days() -> None:
    assert rest_hours(NIGHT, TRAINING) == 6.5
    assert rest_hours(TRAINING, NIGHT) == 24 + 20 - 11.5
    assert rest_hours(NIGHT, NIGHT) == 18


def test_a_swap_check_names_each_broken_rule_in_words() -> None:
    zhang = MemberFacts("M1", "张三", "韩田村巡逻队", "patrol-member")
    rules = PeriodRules(min_rest_hours=10, max_consecutive_nights=2, max_duties_per_week=3)
    held = [HeldShift("night@d0", MON, NIGHT), HeldShift("night@d1", MON + timedelta(days=1), NIGHT)]
    training_tue = HeldShift("training@d1", MON + timedelta(days=1), TRAINING)
    reasons = taking_violations(zhang, training_tue, held, [], rules)
    rest = ("休息不足：张三在12月7日夜班塘下镇夜间巡逻次日02:00结束，12月8日08:30白天学习训练开始，仅休息6.5小时"
            "（至少10小时） (rest too short: 6.5 h between shifts, at least 10 h)")
    assert rest in reasons, reasons
    assert any(r.startswith("一天一班：张三在12月8日已排塘下镇夜间巡逻") for r in reasons), reasons
    third_night = HeldShift("night@d2", MON + timedelta(days=2), NIGHT)
    assert any("连续夜班过多" in r and "连续3个夜班" in r for r in taking_violations(zhang, third_night, held, [],
                                                                                 rules))
    fire = HeldShift("fire@d5", MON + timedelta(days=5), FIRE)
    assert any(r.startswith("技能不符：消防检查需要消防") for r in taking_violations(zhang, fire, [], [], rules))
    quiet = HeldShift("training@d4", MON + timedelta(days=4), TRAINING)
    assert taking_violations(zhang, quiet, held, [], rules) == []
    week = [HeldShift(f"fire@{d}", MON + timedelta(days=d), FIRE) for d in (0, 1, 2)]
    assert any("每周班次超限" in r for r in taking_violations(zhang, quiet, week, [], rules))


def test_a_crew_check_names_composition_breaches() -> None:
    police = MemberFacts("P1", "民警甲", "派出所", "police")
    civilians = [MemberFacts(f"C{i}", f"队员{i}", "韩田村巡逻队", "patrol-member") for i in range(3)]
    # Chinese first, a short English gist after (the refusal convention of every answer)
    assert crew_violations(NIGHT, [police, *civilians], {}) == [
        "人员构成不符：塘下镇夜间巡逻来自韩田村巡逻队的有3人，超过1/2 (crew make-up: 3 from 韩田村巡逻队, over 1/2)"]
    no_police = crew_violations(NIGHT, [*civilians, MemberFacts("G", "保安", "安保公司", "guard")], {})
    assert "人员构成不符：塘下镇夜间巡逻至少需要1名民警，将只有0名 (crew make-up: 0 police, at least 1)" in no_police
    assert any(r.startswith("人数不符") for r in crew_violations(NIGHT, [police], {}))


def test_a_period_becomes_rules_as_data() -> None:
    members = (MemberFacts("P1", "民警甲", "派出所", "police"), MemberFacts("C1", "队员1", "韩田", "patrol-member"))
    facts = PeriodFacts("263", "第263期", MON, MON + timedelta(days=6), PeriodRules(), (NIGHT, TRAINING), members,
                        past_nights={"C1": 5, "someone-else": 9}, nights_before={"P1": 2})
    problem = build_problem(facts)
    assert problem.horizon.days == 7 and problem.horizon.start == MON
    covers = [r for r in problem.rules if isinstance(r, m.Cover)]
    assert len([c for c in covers if c.required]) == 7 + 5  # training runs Monday to Friday only
    closed = [(c.day, c.maximum) for c in covers if c.shift == "training" and not c.required]
    assert closed == [(5, 0), (6, 0)]  # and nobody may take it at the weekend (no such shift exists)
    successions = {(r.first, r.then) for r in problem.rules if isinstance(r, m.ForbiddenSuccession)}
    assert ("night", "training") in successions and ("training", "night") not in successions
    [nights] = [r for r in problem.rules if isinstance(r, m.MaxConsecutive)]
    assert nights.shifts == frozenset({"night"}) and dict(nights.before) == {"P1": 2}
    fairness = [r for r in problem.rules if isinstance(r, m.Fairness) and r.shifts == frozenset({"night"})]
    assert dict(fairness[0].history) == {"C1": 5} and fairness[0].max_period_spread == 1
    share = [r for r in problem.rules if isinstance(r, m.MaxShareFromOneGroup)]
    assert (share[0].numerator, share[0].denominator) == (1, 2)


def test_a_re_plan_keeps_the_ids_of_shifts_made_before_duty_ids_were_per_period() -> None:
    # Monday's night was made as night@2026-12-07 (its events went out under that id); Tuesday's carries the period
    members = (MemberFacts("P1", "民警甲", "派出所", "police"),)
    facts = PeriodFacts("263", "第263期", MON, MON + timedelta(days=1), PeriodRules(), (NIGHT,), members,
                        previous=(("P1", "night@2026-12-07"),), shift_ids={("night", MON): "night@2026-12-07"})
    [stability] = [r for r in build_problem(facts).rules if isinstance(r, m.Stability)]
    assert stability.previous == (m.Assignment(person="P1", day=0, shift="night"),)
    solved = [m.Assignment(person="P1", day=0, shift="night"), m.Assignment(person="P1", day=1, shift="night")]
    assert assignments_by_shift(facts, solved) == {"night@2026-12-07": ["P1"], "263:night@2026-12-08": ["P1"]}
