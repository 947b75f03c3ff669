"""inspection's domain rules, without I/O: phases, working days, the task state machine, scorecards."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from inspection.domain.calendar import (
    PACKAGE_CALENDAR,
    DayBasis,
    WorkingCalendar,
    YearArrangement,
    add_days,
    days_left,
    is_workday,
)
from inspection.domain.cycles import CycleIn, Phase, schedule
from inspection.domain.findings import Category, FindingIn, hazard_key
from inspection.domain.notices import notice_number
from inspection.domain.scorecard import TaskFact, scorecard
from inspection.domain.tasks import (
    Task,
    TaskRuleBroken,
    TaskStatus,
    falls_overdue,
    list_under_supervision,
    reject,
    submit,
    verify,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_national_day_is_off_and_the_make_up_saturday_is_on() -> None:
    assert not is_workday(date(2026, 10, 1))  # 国庆节, a Thursday
    assert not is_workday(date(2026, 10, 7))
    assert is_workday(date(2026, 10, 10))  # Saturday, official make-up workday (调休)
    assert not is_workday(date(2026, 10, 11))  # an ordinary Sunday
    assert is_workday(date(2026, 9, 30))


def test_working_days_skip_the_holiday_and_count_the_make_up_day() -> None:
    # from Wed 30 Sep: 8 Oct (Thu) is the first working day after the holiday, 9 Oct the second, Sat 10 Oct the third
    assert add_days(date(2026, 9, 30), 1, DayBasis.WORKING) == date(2026, 10, 8)
    assert add_days(date(2026, 9, 30), 3, DayBasis.WORKING) == date(2026, 10, 10)
    assert add_days(date(2026, 9, 30), 4, DayBasis.WORKING) == date(2026, 10, 12)
    assert add_days(date(2026, 9, 30), 4, DayBasis.CALENDAR) == date(2026, 10, 4)
    assert days_left(date(2026, 9, 30), date(2026, 10, 12), DayBasis.WORKING) == 4
    assert days_left(date(2026, 9, 30), date(2026, 10, 12), DayBasis.CALENDAR) == 12
    assert days_left(date(2026, 10, 12), date(2026, 10, 12), DayBasis.WORKING) == 0


def test_a_year_without_a_published_arrangement_counts_weekdays_and_says_so() -> None:
    assert PACKAGE_CALENDAR.provisional(date(2031, 3, 3), date(2031, 3, 3), DayBasis.WORKING)
    assert not PACKAGE_CALENDAR.provisional(date(2031, 3, 3), date(2031, 3, 3), DayBasis.CALENDAR)
    assert is_workday(date(2031, 3, 3)) and not is_workday(date(2031, 3, 2))  # Monday on, Sunday off
    assert not PACKAGE_CALENDAR.provisional(date(2026, 3, 3), date(2026, 3, 3), DayBasis.WORKING)


def test_a_loaded_notice_decides_its_year_before_the_package_and_the_weekdays() -> None:
    # the first year the package does not know whose New Year's Day is a weekday (2027 with chinese-calendar 1.11)
    year = next(y for y in range(2027, 2100) if not PACKAGE_CALENDAR.knows(y) and date(y, 1, 1).weekday() < 5)
    new_year = date(year, 1, 1)
    start = new_year - timedelta(days=1)
    while PACKAGE_CALENDAR.days_left(start, new_year, DayBasis.WORKING) < 5:
        start -= timedelta(days=1)
    # five working days counted through the unknown year end on New Year's Day itself, and say they are provisional
    assert PACKAGE_CALENDAR.add_days(start, 5, DayBasis.WORKING) == new_year
    assert PACKAGE_CALENDAR.provisional(start, new_year, DayBasis.WORKING)
    notice = WorkingCalendar({year: YearArrangement(holidays=frozenset({new_year}), workdays=frozenset())})
    assert notice.knows(year) and not notice.is_workday(new_year)
    recounted = notice.add_days(start, 5, DayBasis.WORKING)
    assert recounted > new_year and recounted.weekday() < 5
    assert not notice.provisional(start, recounted, DayBasis.WORKING)
    assert notice.is_workday(start) == PACKAGE_CALENDAR.is_workday(start)  # the year before: the package's


def test_a_cycle_is_fourteen_days_covert_then_fourteen_of_rectification() -> None:
    plan = schedule(date(2026, 11, 2), 14, 14, DayBasis.CALENDAR, SHANGHAI)
    assert plan.starts_at == datetime(2026, 11, 2, tzinfo=SHANGHAI)
    assert plan.covert_ends_at == datetime(2026, 11, 16, tzinfo=SHANGHAI)
    assert plan.closes_at == datetime(2026, 11, 30, tzinfo=SHANGHAI)
    assert plan.phase_at(plan.starts_at) is Phase.COVERT
    assert plan.phase_at(plan.covert_ends_at - timedelta(seconds=1)) is Phase.COVERT
    assert plan.phase_at(plan.covert_ends_at) is Phase.RECTIFICATION
    assert plan.phase_at(plan.closes_at) is Phase.CLOSED
    assert plan.next_change(Phase.COVERT) == plan.covert_ends_at
    assert plan.next_change(Phase.CLOSED) is None


def test_working_day_rectification_runs_past_national_day() -> None:
    # covert 17–30 Sep; rectification from 1 Oct: 7 holidays off, Sat 10 Oct on → 5 working days end Tue 13 Oct
    plan = schedule(date(2026, 9, 17), 14, 5, DayBasis.WORKING, SHANGHAI)
    assert plan.covert_ends_at == datetime(2026, 10, 1, tzinfo=SHANGHAI)
    assert plan.closes_at == datetime(2026, 10, 14, tzinfo=SHANGHAI)


def test_cycle_request_validation() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        CycleIn(name="第1期", start_date=date(2026, 11, 2), unit_ids=["安阳街道", "安阳街道"])
    with pytest.raises(ValidationError):
        CycleIn(name="第1期", start_date=date(2026, 11, 2), unit_ids=[])
    with pytest.raises(ValidationError):
        CycleIn(name="第1期", start_date=date(2026, 11, 2), unit_ids=["a"], covert_days=0)


def test_finding_needs_a_unit_and_has_a_hazard_key() -> None:
    with pytest.raises(ValidationError, match="township_unit_id, department_unit_id or both"):
        FindingIn(cycle_id="c", category=Category.FIRE, place="万松路", description="灭火器过期")
    finding = FindingIn(cycle_id="c", township_unit_id="安阳街道", category=Category.FIRE,
                        place="万松路 １２号", description="灭火器过期")
    assert finding.effective_hazard_key() == hazard_key("fire", "万松路12号") == "fire:万松路12号"
    assert finding.fingerprint() == finding.model_copy(update={"id": "x"}).fingerprint()
    assert finding.fingerprint() != finding.model_copy(update={"description": "消防通道堵塞"}).fingerprint()


def test_notice_number_is_written_as_in_the_documents() -> None:
    assert notice_number(2026, 12) == "〔2026〕12号"


T0 = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)


def _task(**changes: object) -> Task:
    fields: dict[str, object] = dict(id="t1", unit_id="安阳街道", status=TaskStatus.OPEN,
                                     deadline=T0 + timedelta(days=14), day_basis=DayBasis.CALENDAR)
    fields.update(changes)
    return Task(**fields)  # type: ignore[arg-type]


def test_rectification_needs_evidence_and_a_revisit_decides() -> None:
    with pytest.raises(TaskRuleBroken) as refused:
        submit(_task(), text="已更换灭火器", evidence=[])
    assert refused.value.field == "evidence" and not refused.value.conflict
    submitted = submit(_task(), text="已更换灭火器", evidence=["photo:1"])
    assert submitted.status is TaskStatus.SUBMITTED
    with pytest.raises(TaskRuleBroken):
        submit(submitted, text="again", evidence=["photo:2"])
    returned = reject(submitted, remaining="二楼仍缺")
    assert returned.status is TaskStatus.OPEN and returned.rejections == 1
    assert returned.deadline == submitted.deadline  # a rejected revisit keeps the deadline
    with pytest.raises(TaskRuleBroken):
        verify(returned, now=T0)
    verified = verify(submit(returned, text="补齐", evidence=["photo:3"]), now=T0 + timedelta(days=1))
    assert verified.status is TaskStatus.VERIFIED and not verified.is_open


def test_overdue_happens_once_and_never_to_a_verified_task() -> None:
    task = _task()
    assert not falls_overdue(task, now=task.deadline - timedelta(seconds=1))
    assert falls_overdue(task, now=task.deadline)
    overdue = replace(task, overdue_at=task.deadline)
    assert not falls_overdue(overdue, now=task.deadline + timedelta(days=3))
    verified = verify(submit(task, text="ok", evidence=["e"]), now=T0)
    assert not falls_overdue(verified, now=task.deadline)


def test_listing_sets_its_own_deadline_in_the_future() -> None:
    listed = list_under_supervision(_task(), deadline=T0 + timedelta(days=60), now=T0)
    assert listed.listed and listed.deadline == T0 + timedelta(days=60)
    with pytest.raises(TaskRuleBroken):
        list_under_supervision(_task(), deadline=T0 - timedelta(days=1), now=T0)


def test_scorecard_counts_units_and_bundles_and_ranks() -> None:
    deadline = T0 + timedelta(days=14)
    early, late = deadline - timedelta(days=1), deadline + timedelta(days=1)
    facts = [
        TaskFact("t1", "镇A", "f1", ("镇A", "局B"), deadline, early, 0),
        TaskFact("t2", "局B", "f1", ("镇A", "局B"), deadline, late, 1),
        TaskFact("t3", "镇A", "f2", None, deadline, None, 2),
        TaskFact("t4", "镇C", "f3", None, deadline, early, 0),
    ]
    card = scorecard(["镇A", "局B", "镇C", "镇D"], facts)
    units = {row["subject"]: row for row in card["units"]}
    assert units["镇A"] | {} == {**units["镇A"], "findings": 2, "rectified_on_time": 1, "still_open": 1,
                                 "revisit_rejections": 2}
    assert units["局B"]["rectified_late"] == 1
    assert [row["subject"] for row in card["units"]] == ["镇C", "镇D", "镇A", "局B"]
    assert units["镇C"]["rank"] == 1 and units["镇D"]["rank"] == 1  # equal figures share a rank
    assert units["镇A"]["rank"] == 3
    (bundle,) = card["bundles"]
    assert bundle["subject"] == "镇A+局B" and bundle["findings"] == 1 and bundle["rectified_late"] == 1
    assert bundle["revisit_rejections"] == 1


def test_reminders_come_at_nine_on_the_days_that_leave_three_and_one() -> None:
    from inspection.domain.reminders import next_reminder

    deadline = datetime(2026, 11, 30, tzinfo=SHANGHAI)  # end of Sun 29 Nov
    first = next_reminder(deadline, DayBasis.CALENDAR, SHANGHAI, after=datetime(2026, 11, 16, tzinfo=SHANGHAI))
    assert first == (datetime(2026, 11, 26, 9, tzinfo=SHANGHAI), 3)
    second = next_reminder(deadline, DayBasis.CALENDAR, SHANGHAI, after=first[0])
    assert second == (datetime(2026, 11, 28, 9, tzinfo=SHANGHAI), 1)
    assert next_reminder(deadline, DayBasis.CALENDAR, SHANGHAI, after=second[0]) is None
    # working basis, deadline end of Tue 13 Oct 2026: on Fri 9 Oct three working days are left (Sat 10 Oct
    # is a make-up workday, then Mon 12 and Tue 13)
    working = datetime(2026, 10, 14, tzinfo=SHANGHAI)
    start = datetime(2026, 9, 20, tzinfo=SHANGHAI)
    assert next_reminder(working, DayBasis.WORKING, SHANGHAI, after=start) == (
        datetime(2026, 10, 9, 9, tzinfo=SHANGHAI), 3)


@pytest.mark.parametrize("start", [date(9999, 12, 25), date(1, 1, 1), date(2100, 1, 1)])
def test_a_cycle_cannot_start_where_its_phases_would_leave_the_calendar(start: date) -> None:
    with pytest.raises(ValidationError, match="start_date"):
        CycleIn(name="第3期", start_date=start, unit_ids=["YH"])
    assert CycleIn(name="第3期", start_date=date(2099, 12, 31), unit_ids=["YH"], covert_days=366,
                   rectification_days=366).start_date.year == 2099
    schedule(date(2099, 12, 31), 366, 366, DayBasis.WORKING, SHANGHAI)  # the far edge still computes
