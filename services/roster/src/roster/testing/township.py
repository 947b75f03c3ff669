"""A seeded township's rotation (轮值轮训) as the service's facts: members of police stations, village patrol teams, a
security company and a militia company; day training, day patrols and night patrols per area, a night checkpoint and a
fire check; each period's leave and wishes. The same arguments give the same township and periods.

Crews follow the field's rules: a night patrol is led by a police officer (the service has no "team leader" role: on
the 轮值轮训 nights the officer leads the crew) with at least two civilians and no more than half from one
organisation. The township is sized so that its rules can hold together: police make a fifth of the members, enough
to lead every area's night patrol with each of them on at most one night more than anyone else.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta

from roster.domain.members import MemberRole
from roster.domain.periods import CompositionIn, PeriodRules
from roster.domain.problem import Absence, DutyFacts, MemberFacts, PeriodFacts, Wish

# A Monday, so that the periods' weeks are calendar weeks (the weekly limit counts Monday to Sunday).
YEAR_STARTS = date(2027, 1, 4)
POLICE_STATIONS = ("塘下派出所", "罗凤派出所")
VILLAGES = ("韩田村", "场桥村", "鲍田村", "陈岙村", "海安村", "上马村")
SECURITY_COMPANY = "塘下安保公司"
MILITIA = "塘下民兵连"
AREAS = ("东片", "西片", "中心片", "北片", "南片")
FIRE = "消防"
FIRST_AID = "急救"
# The rules of every period: those of the service's field tests (period_scenario.RULES), defaults otherwise.
RULES = PeriodRules(min_rest_hours=10, max_consecutive_nights=2, max_duties_per_week=4, max_night_spread=1,
                    fairness_weight=10)
LEAVE_REASONS = ("请假", "出差", "培训", "病假")
EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True)
class Township:
    members: tuple[MemberFacts, ...]
    duties: tuple[DutyFacts, ...]

    @property
    def night_duty_ids(self) -> frozenset[str]:
        return frozenset(d.duty_id for d in self.duties if d.night)


def township(members: int = 600, *, seed: int = 0) -> Township:
    """``members`` members (at least 40) and the duties a township of that size runs: one area per 200 members."""
    if members < 40:
        raise ValueError("a township needs at least 40 members")
    rng = random.Random(seed)
    return Township(members=tuple(_member(i, members, rng) for i in range(members)),
                    duties=duties(areas=max(1, min(len(AREAS), round(members / 200))), members=members))


def _member(i: int, total: int, rng: random.Random) -> MemberFacts:
    police = total // 5
    skills = {skill for skill, share in ((FIRE, 0.2), (FIRST_AID, 0.1)) if rng.random() < share}
    if i < police:
        return MemberFacts(f"M{i:04d}", f"民警{i:04d}", POLICE_STATIONS[i % len(POLICE_STATIONS)], "police",
                           frozenset(skills))
    civilian = i - police
    if civilian % 10 == 8:
        org, role = SECURITY_COMPANY, "guard"
    elif civilian % 10 == 9:
        org, role = MILITIA, "militia"
    else:
        org = f"{VILLAGES[civilian % len(VILLAGES)]}巡逻队"
        role = "activist" if rng.random() < 0.15 else "patrol-member"
    return MemberFacts(f"M{i:04d}", f"队员{i:04d}", org, role, frozenset(skills))


def duties(*, areas: int, members: int) -> tuple[DutyFacts, ...]:
    """Training for the cohort on working days, a day and a night patrol per area, a night checkpoint, a fire check."""
    led_at_night = CompositionIn(min_by_role={MemberRole.POLICE: 1}, min_civilians=2, max_share_per_org=0.5)
    # Every duty runs every day: build_problem gives a duty cover only on its weekdays and nothing against crews on
    # its other days, and the solver does put members there (shifts the period does not have). Training on six days
    # and the fire check on three, as the field has them, wait for that to be ruled out.
    out = [DutyFacts("training", "白天学习训练", "training", None, time(8, 30), time(11, 30), EVERY_DAY,
                     max(4, members * 5 // 100), CompositionIn()),
           DutyFacts("fire-check", "消防检查", "fire-check", None, time(14, 0), time(17, 0), EVERY_DAY,
                     max(1, members // 300),
                     CompositionIn(), frozenset({FIRE})),
           DutyFacts("checkpoint", "设卡盘查", "checkpoint", None, time(21, 0), time(1, 0), EVERY_DAY, 4,
                     CompositionIn(min_civilians=2, max_share_per_org=0.5))]
    for n, area in enumerate(AREAS[:areas], start=1):
        out.append(DutyFacts(f"day-patrol-{n}", f"{area}白天巡逻", "road-patrol", area, time(14, 0), time(17, 30),
                             EVERY_DAY, 3, CompositionIn(min_civilians=2, max_share_per_org=0.67)))
        out.append(DutyFacts(f"night-patrol-{n}", f"{area}夜间巡逻", "road-patrol", area, time(20, 0), time(2, 0),
                             EVERY_DAY, 4, led_at_night))
    return tuple(out)


def period_facts(town: Township, index: int, *, days: int = 28, seed: int = 0) -> PeriodFacts:
    """The ``index``-th period (0-based) of the year: every member in its cohort, with the period's leave and
    wishes; no history (``roster.testing.year`` carries it)."""
    rng = random.Random(f"{seed}:{index}")
    starts_on = YEAR_STARTS + timedelta(days=index * days)
    ends_on = starts_on + timedelta(days=days - 1)
    return PeriodFacts(period_id=f"Y{index + 1:02d}", name=f"第{index + 1}期", starts_on=starts_on, ends_on=ends_on,
                       rules=RULES, duties=town.duties, members=town.members,
                       absences=_absences(town, starts_on, days, rng), wishes=_wishes(town, starts_on, days, rng))


def _absences(town: Township, starts_on: date, days: int, rng: random.Random) -> tuple[Absence, ...]:
    """About one member in twelve away for two to six days (short: the night spread holds for the whole cohort)."""
    away = rng.sample(town.members, k=len(town.members) // 12)
    out = []
    for member in away:
        length = rng.randint(2, min(6, days))
        first = starts_on + timedelta(days=rng.randrange(days - length + 1))
        out.append(Absence(member.member_id, first, first + timedelta(days=length - 1), rng.choice(LEAVE_REASONS)))
    return tuple(out)


def _wishes(town: Township, starts_on: date, days: int, rng: random.Random) -> tuple[Wish, ...]:
    """About one member in ten asks for something: a day off, no night on a day, or a day duty they want."""
    day_duties = [d.duty_id for d in town.duties if not d.night and not d.required_skills]
    nights = sorted(town.night_duty_ids)
    out = []
    for member in rng.sample(town.members, k=len(town.members) // 10):
        day = starts_on + timedelta(days=rng.randrange(days))
        kind = rng.random()
        if kind < 0.5:
            out.append(Wish(member.member_id, day, None, wants=False, weight=3))
        elif kind < 0.75:
            out.append(Wish(member.member_id, day, rng.choice(nights), wants=False, weight=2))
        else:
            out.append(Wish(member.member_id, day, rng.choice(day_duties), wants=True, weight=1))
    return tuple(out)
