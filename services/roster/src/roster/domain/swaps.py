"""Whether a member may take a published shift (a swap or an organiser's override): the hard rules a change of
crew can break, each refusal in an organiser's words. Pure: the caller loads the facts.

Checked for the member who comes in: availability, skills, one duty a day, rest between consecutive days'
duties (休息不足：夜班后次日早上培训), max consecutive nights, max duties per week and per period. Checked for the
crew after the change: composition (roles, civilians, share of one organisation) — which the member who leaves
can break too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from roster.domain.members import CIVILIAN_ROLES, ROLE_ZH
from roster.domain.periods import PeriodRules
from roster.domain.problem import Absence, DutyFacts, MemberFacts, rest_hours


@dataclass(frozen=True)
class SwapRequest:
    """A member's request to hand a shift to someone else: pending until an organiser approves or refuses it, or
    the member withdraws it."""

    request_id: str
    shift_id: str
    from_member_id: str
    to_member_id: str | None
    note: str
    status: str  # pending, approved, refused, withdrawn
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


@dataclass(frozen=True)
class HeldShift:
    """A published shift and its duty, as the checker needs it."""

    shift_id: str
    day: date
    duty: DutyFacts


def day_zh(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _clock(duty: DutyFacts, *, end: bool) -> str:
    at = duty.end_time if end else duty.start_time
    next_day = "次日" if end and duty.end_time <= duty.start_time else ""
    return f"{next_day}{at.strftime('%H:%M')}"


def _duty_word(duty: DutyFacts) -> str:
    return "夜班" if duty.night else "班次"



def both(chinese: str, english: str) -> str:
    """A refusal reason as every answer gives one: Chinese first, a short English gist after (``中文 (English)``)."""
    return f"{chinese} ({english})"

def taking_violations(
    member: MemberFacts, shift: HeldShift, held: Sequence[HeldShift], absences: Sequence[Absence],
    rules: PeriodRules,
) -> list[str]:
    """Why ``member`` may not take ``shift`` given the shifts they already hold (``held``, any period); empty if
    they may."""
    reasons: list[str] = []
    day = shift.day
    for absence in absences:
        if absence.member_id == member.member_id and absence.from_day <= day <= absence.to_day:
            reasons.append(both(f"不可用：{member.name}在{day_zh(day)}不可排班（{absence.reason or '已登记不可用'}）",
                                f"unavailable: {member.name} is off on {day.isoformat()}"))
    missing = sorted(shift.duty.required_skills - member.skills)
    if missing:
        reasons.append(both(f"技能不符：{shift.duty.title}需要{'、'.join(missing)}，{member.name}不具备",
                            f"skills: {member.name} lacks {', '.join(missing)}"))
    others = [h for h in held if h.shift_id != shift.shift_id]
    for other in others:
        if other.day == day:
            reasons.append(both(f"一天一班：{member.name}在{day_zh(day)}已排{other.duty.title}",
                                f"one shift a day: {member.name} already has one on {day.isoformat()}"))
        elif other.day == day - timedelta(days=1):
            _rest(reasons, member, other, shift, rules)
        elif other.day == day + timedelta(days=1):
            _rest(reasons, member, shift, other, rules)
    if shift.duty.night and rules.max_consecutive_nights is not None:
        nights = {h.day for h in others if h.duty.night} | {day}
        run_start = day
        while run_start - timedelta(days=1) in nights:
            run_start -= timedelta(days=1)
        run_end = day
        while run_end + timedelta(days=1) in nights:
            run_end += timedelta(days=1)
        run = (run_end - run_start).days + 1
        if run > rules.max_consecutive_nights:
            reasons.append(both(f"连续夜班过多：{member.name}将从{day_zh(run_start)}到{day_zh(run_end)}连续{run}个夜班"
                                f"（至多{rules.max_consecutive_nights}个）",
                                f"too many nights in a row: {run}, at most {rules.max_consecutive_nights}"))
    if rules.max_duties_per_week is not None:
        monday = day - timedelta(days=day.weekday())
        week = [h for h in others if monday <= h.day < monday + timedelta(days=7)]
        if len(week) + 1 > rules.max_duties_per_week:
            reasons.append(both(f"每周班次超限：{member.name}在{day_zh(monday)}起的一周将有{len(week) + 1}个班次"
                                f"（至多{rules.max_duties_per_week}个）",
                                f"too many shifts that week: {len(week) + 1}, at most {rules.max_duties_per_week}"))
    return reasons


def period_count_violation(member: MemberFacts, held_in_period: int, rules: PeriodRules) -> str | None:
    if rules.max_duties_per_period is not None and held_in_period + 1 > rules.max_duties_per_period:
        return both(f"本期班次超限：{member.name}本期将有{held_in_period + 1}个班次"
                    f"（至多{rules.max_duties_per_period}个）",
                    f"too many shifts this period: {held_in_period + 1}, at most {rules.max_duties_per_period}")
    return None


def _rest(reasons: list[str], member: MemberFacts, first: HeldShift, then: HeldShift, rules: PeriodRules) -> None:
    hours = rest_hours(first.duty, then.duty)
    if hours < rules.min_rest_hours:
        reasons.append(both(
            f"休息不足：{member.name}在{day_zh(first.day)}{_duty_word(first.duty)}{first.duty.title}"
            f"{_clock(first.duty, end=True)}结束，{day_zh(then.day)}{_clock(then.duty, end=False)}"
            f"{then.duty.title}开始，仅休息{hours:g}小时（至少{rules.min_rest_hours}小时）",
            f"rest too short: {hours:g} h between shifts, at least {rules.min_rest_hours} h"))


def crew_violations(duty: DutyFacts, crew: Sequence[MemberFacts], org_names: dict[str, str]) -> list[str]:
    """Why this crew does not meet ``duty``'s size and composition; empty if it does."""
    reasons: list[str] = []
    comp = duty.composition
    if len(crew) != duty.required_size:
        reasons.append(both(f"人数不符：{duty.title}需要{duty.required_size}人，将有{len(crew)}人",
                            f"crew size: {len(crew)}, {duty.required_size} needed"))
    for role, count in comp.min_by_role.items():
        have = sum(p.role == role.value for p in crew)
        if have < count:
            reasons.append(both(f"人员构成不符：{duty.title}至少需要{count}名{ROLE_ZH[role]}，将只有{have}名",
                                f"crew make-up: {have} {role.value}, at least {count}"))
    for role, count in comp.max_by_role.items():
        have = sum(p.role == role.value for p in crew)
        if have > count:
            reasons.append(both(f"人员构成不符：{duty.title}至多{count}名{ROLE_ZH[role]}，将有{have}名",
                                f"crew make-up: {have} {role.value}, at most {count}"))
    if comp.min_civilians:
        civilians = sum(p.role in CIVILIAN_ROLES for p in crew)
        if civilians < comp.min_civilians:
            reasons.append(both(f"人员构成不符：{duty.title}至少需要{comp.min_civilians}名群众力量（非民警），"
                                f"将只有{civilians}名",
                                f"crew make-up: {civilians} civilians, at least {comp.min_civilians}"))
    share = comp.share()
    if share is not None and crew:
        counts: dict[str, int] = {}
        for p in crew:
            counts[p.org_id] = counts.get(p.org_id, 0) + 1
        for org, n in sorted(counts.items()):
            if n * share.denominator > share.numerator * len(crew):
                reasons.append(both(f"人员构成不符：{duty.title}来自{org_names.get(org, org)}的有{n}人，超过"
                                    f"{share.numerator}/{share.denominator}",
                                    f"crew make-up: {n} from {org}, over {share.numerator}/{share.denominator}"))
    return reasons

