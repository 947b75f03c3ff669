"""The attendance and fairness rules alone (no I/O): windows, nights, check-in times, the words of a no-show,
and the per-person, team and organisation figures with their spreads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from roster.domain.attendance import (
    CheckInRefused,
    check_in_time,
    check_key,
    grace_until,
    is_night,
    no_show_summary,
    presence_window,
)
from roster.domain.reports import Duty, GroupBy, Person, group, spread, summary, tally

BEIJING = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 22, 20, tzinfo=BEIJING)
END = datetime(2026, 11, 22, 23, tzinfo=BEIJING)


def test_nights_are_judged_by_local_time() -> None:
    assert is_night(START, BEIJING)
    assert is_night(datetime(2026, 11, 22, 1, tzinfo=BEIJING), BEIJING)  # after midnight
    assert not is_night(datetime(2026, 11, 22, 9, tzinfo=BEIJING), BEIJING)  # day training
    assert not is_night(datetime(2026, 11, 22, 17, 59, tzinfo=BEIJING), BEIJING)
    # 12:00 UTC is 20:00 in Ruian: a night there, whatever the UTC hour says
    assert is_night(datetime(2026, 11, 22, 12, tzinfo=UTC), BEIJING)
    assert not is_night(datetime(2026, 11, 22, 12, tzinfo=UTC), ZoneInfo("Europe/Berlin"))


def test_the_window_opens_early_and_closes_at_the_end() -> None:
    window = presence_window(START, END, early=timedelta(minutes=60))
    assert window.holds(START - timedelta(minutes=60)) and window.holds(END)
    assert not window.holds(START - timedelta(minutes=61)) and not window.holds(END + timedelta(seconds=1))
    assert grace_until(START, timedelta(minutes=30)) == START + timedelta(minutes=30)


def test_check_in_times() -> None:
    window = presence_window(START, END, early=timedelta(minutes=60))
    now = START + timedelta(minutes=10)
    assert check_in_time(now=now, at=None, window=window, by_organiser=False) == now
    earlier = START + timedelta(minutes=2)
    assert check_in_time(now=now, at=earlier, window=window, by_organiser=True) == earlier
    for kwargs in (
        {"now": now, "at": earlier, "by_organiser": False},  # only organisers give a time
        {"now": now, "at": now + timedelta(minutes=1), "by_organiser": True},  # not in the future
        {"now": START - timedelta(hours=2), "at": None, "by_organiser": False},  # too early
        {"now": END + timedelta(hours=1), "at": None, "by_organiser": True},  # after the end, now
    ):
        with pytest.raises(CheckInRefused):
            check_in_time(window=window, **kwargs)  # type: ignore[arg-type]


def test_timer_keys_cannot_collide_and_summaries_speak_chinese() -> None:
    assert check_key("a:b", "c") != check_key("a", "b:c")
    text = no_show_summary(title="塘下镇夜间巡逻", starts_at=START.astimezone(UTC), zone=BEIJING, member_name="王五",
                           area="塘下镇")
    assert text == "塘下镇夜间巡逻 11月22日 20:00 未到岗：王五（塘下镇）"


def person(member_id: str, team: str | None = "一队", org: str = "ORG-1") -> Person:
    return Person(member_id, member_id, org, team)


def duty(member_id: str, day: int, hour: int, *, in_scope: bool = True, present: bool = False,
         no_show: bool = False) -> Duty:
    return Duty(member_id, f"{member_id}-{day}-{hour}", datetime(2026, 11, day, hour, tzinfo=BEIJING),
                in_scope=in_scope, present=present, no_show=no_show)


def test_figures_per_person_team_and_organisation() -> None:
    people = [person("a"), person("b"), person("c", team="二队", org="ORG-2"), person("idle")]
    duties = [
        duty("a", 1, 20, present=True), duty("a", 2, 20, no_show=True, present=True), duty("a", 3, 9),
        duty("b", 1, 20, no_show=True), duty("b", 1, 21, in_scope=False, present=True),  # an earlier period's
        duty("c", 2, 20, present=True), duty("stranger", 1, 20),  # not among the people: not counted
    ]
    tallies = dict((p.member_id, t.as_dict()) for p, t in tally(people, duties, BEIJING))
    assert tallies["a"] == {"duties": 3, "nights": 2, "attended": 2, "no_shows": 0, "resolved": 1, "pending": 1,
                            "year_duties": 3, "year_nights": 2}
    assert tallies["b"] == {"duties": 1, "nights": 1, "attended": 0, "no_shows": 1, "resolved": 0, "pending": 0,
                            "year_duties": 2, "year_nights": 2}
    assert tallies["idle"]["duties"] == 0
    teams = {g.key: g.row(GroupBy.TEAM) for g in group(tally(people, duties, BEIJING), GroupBy.TEAM)}
    assert teams["一队"]["people"] == 3 and teams["一队"]["duties"] == 4
    assert teams["一队"]["duties_per_person"] == {"least": 0, "most": 3, "spread": 3}
    assert teams["二队"]["nights_per_person"] == {"least": 1, "most": 1, "spread": 0}
    orgs = [g.key for g in group(tally(people, duties, BEIJING), GroupBy.ORGANISATION)]
    assert orgs == ["ORG-1", "ORG-2"]
    overall = summary(tally(people, duties, BEIJING))
    assert overall["people"] == 4 and overall["nights_per_person"] == {"least": 0, "most": 2, "spread": 2}
    assert spread([]).as_dict() == {"least": 0, "most": 0, "spread": 0}
