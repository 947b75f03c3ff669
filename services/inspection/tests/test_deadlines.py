"""Deadlines on the task's basis: a working-day deadline and its reminders (催办) skip the National Day holiday
and count the make-up Saturday (调休, Sat 10 Oct 2026); listed supervision counts its days the same way. The
rules alone, then the durable timers of a running service stepped through the holiday day by day."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from inspection.bootstrap import bootstrap
from inspection.domain.calendar import DayBasis
from inspection.domain.cycles import end_of_day
from inspection.domain.reminders import next_reminder
from inspection.opening import TaskDraft, open_task
from inspection.rectification import listing_deadline
from inspection.settings import InspectionSettings
from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import eventually, read_topic, running_service

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEADLINE = end_of_day(date(2026, 10, 12), SHANGHAI)  # Monday after the holiday


def local(day: date, at: time = time(9, 0)) -> datetime:
    return datetime.combine(day, at, tzinfo=SHANGHAI)


def reminders(deadline: datetime, basis: DayBasis, after: datetime) -> list[tuple[datetime, int]]:
    found = []
    while (nxt := next_reminder(deadline, basis, SHANGHAI, after=after)) is not None:
        found.append(nxt)
        after = nxt[0]
    return found


def test_working_day_reminders_skip_the_holiday_and_fall_on_the_make_up_saturday() -> None:
    opened = local(date(2026, 9, 28), time(10, 0))
    assert reminders(DEADLINE, DayBasis.WORKING, opened) == [
        (local(date(2026, 10, 8)), 3),   # 9, 10 (Saturday, 调休) and 12 October are left
        (local(date(2026, 10, 10)), 1),  # on the make-up Saturday: only Monday is left
    ]
    assert reminders(DEADLINE, DayBasis.CALENDAR, opened) == [(local(date(2026, 10, 9)), 3),
                                                              (local(date(2026, 10, 11)), 1)]
    # due the first working day after the holiday: "1 day left" comes before it, on 30 September ("3 left"
    # was 28 September at 09:00, before the task opened)
    assert reminders(end_of_day(date(2026, 10, 8), SHANGHAI), DayBasis.WORKING, opened) == [
        (local(date(2026, 9, 30)), 1)]


def test_listing_days_count_on_the_tasks_basis() -> None:
    now = local(date(2026, 9, 30), time(10, 0))
    assert listing_deadline(deadline=None, days=3, basis=DayBasis.WORKING, now=now, zone=SHANGHAI) == \
        end_of_day(date(2026, 10, 10), SHANGHAI)  # 8, 9 and the make-up Saturday 10 October
    assert listing_deadline(deadline=None, days=3, basis=DayBasis.CALENDAR, now=now, zone=SHANGHAI) == \
        end_of_day(date(2026, 10, 3), SHANGHAI)
    assert listing_deadline(deadline=date(2026, 12, 1), days=None, basis=DayBasis.WORKING, now=now,
                            zone=SHANGHAI) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)


@pytest.fixture
async def running(database_url: str, platform_settings: PlatformSettings) -> AsyncIterator[tuple[Service, FixedClock]]:
    clock = FixedClock(local(date(2026, 9, 28), time(10, 0)))
    service = bootstrap(platform=platform_settings, clock=clock,
                        settings=InspectionSettings(database_url=database_url))
    async with running_service(service):
        async with service.runtime.connection() as conn:
            await conn.execute("INSERT INTO units (id, name, kind) VALUES ('AY', '安阳街道', 'township'), "
                               "('YH', '玉海街道', 'township')")
        yield service, clock


async def test_reminders_and_overdue_of_a_working_day_task_through_national_day(
    running: tuple[Service, FixedClock], platform_settings: PlatformSettings
) -> None:
    service, clock = running
    ids = {}
    async with service.runtime.connection() as conn, conn.transaction():
        for unit_id, basis in (("AY", DayBasis.WORKING), ("YH", DayBasis.CALENDAR)):
            draft = TaskDraft(unit_id=unit_id, origin="finding", category="fire", severity="medium",
                              hazard_key="fire:x", place="x", description="x", deadline=DEADLINE, day_basis=basis)
            opened = await open_task(conn, service.app.state.inspection, draft, now=clock.now(), actor="inspector:w",
                                     notice=False)
            ids[basis] = opened.task_id

    async def timers_caught_up() -> bool:
        async with service.runtime.connection() as conn:
            return await conn.fetchval("SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= $1",
                                       clock.now()) == 0

    day = date(2026, 9, 29)
    while day <= date(2026, 10, 13):
        clock.set(local(day, time(9, 0, 1)))
        await eventually(timers_caught_up, what=f"timers due by {day}")
        day += timedelta(days=1)

    async with service.runtime.connection() as conn:
        rows = await conn.fetch("SELECT task_id, at, detail FROM task_timeline WHERE action = 'reminded' ORDER BY at")
        overdue = await conn.fetch("SELECT id, overdue_at FROM tasks WHERE overdue_at IS NOT NULL")
    by_task = {basis: [(r["at"].astimezone(SHANGHAI).date(), r["detail"]["days_left"]) for r in rows
                       if r["task_id"] == task_id] for basis, task_id in ids.items()}
    assert by_task[DayBasis.WORKING] == [(date(2026, 10, 8), 3), (date(2026, 10, 10), 1)]
    assert by_task[DayBasis.CALENDAR] == [(date(2026, 10, 9), 3), (date(2026, 10, 11), 1)]
    assert {r["id"] for r in overdue} == set(ids.values())  # at the end of Monday 12 October, both

    records = await read_topic(platform_settings.kafka_bootstrap_servers,
                               platform_settings.topic("inspection.tasks"), expected=8)
    found = [json.loads(r.value) for r in records]
    sent = sorted((e["payload"]["task_id"], e["payload"]["days_left"]) for e in found
                  if e["type"] == "inspection.task-reminder")
    assert sent == sorted([(ids[DayBasis.WORKING], 3), (ids[DayBasis.WORKING], 1), (ids[DayBasis.CALENDAR], 3),
                           (ids[DayBasis.CALENDAR], 1)])
    assert sorted(e["payload"]["task_id"] for e in found if e["type"] == "inspection.task-overdue") == sorted(
        ids.values())
