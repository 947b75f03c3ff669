from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pingan_shared.events.contracts import ScanAcceptedV2
from roster.domain.attendance import AttendanceKey, local_day, tally_scans

BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_night_patrol_after_midnight_counts_for_the_local_date() -> None:
    # 17:30 UTC is 01:30 the next day in Ruian
    assert local_day(datetime(2026, 11, 21, 17, 30, tzinfo=UTC), BEIJING) == date(2026, 11, 22)
    assert local_day(datetime(2026, 11, 21, 15, 59, tzinfo=UTC), BEIJING) == date(2026, 11, 21)


def test_the_zone_is_a_setting_not_a_constant() -> None:
    moment = datetime(2026, 11, 21, 17, 30, tzinfo=UTC)
    assert local_day(moment, ZoneInfo("Europe/Berlin")) == date(2026, 11, 21)


def test_a_batch_folds_into_one_tally_per_member_and_local_day() -> None:
    tallies = tally_scans([scan("张三", 13), scan("张三", 12, 30), scan("张三", 17), scan("李四", 13)], BEIJING)
    zhang_21 = tallies[AttendanceKey("一队", "张三", date(2026, 11, 21))]
    assert (zhang_21.scans, zhang_21.first.hour, zhang_21.last.hour) == (2, 12, 13)
    assert tallies[AttendanceKey("一队", "张三", date(2026, 11, 22))].scans == 1  # 17:00 UTC is 01:00 next day
    assert tallies[AttendanceKey("一队", "李四", date(2026, 11, 21))].scans == 1
    assert sum(t.scans for t in tallies.values()) == 4


def test_the_same_name_in_two_teams_is_two_people() -> None:
    tallies = tally_scans([scan("张三", 13), scan("张三", 13, team="二队"), scan("张三", 14)], BEIJING)
    day = date(2026, 11, 21)
    assert tallies[AttendanceKey("一队", "张三", day)].scans == 2
    assert tallies[AttendanceKey("二队", "张三", day)].scans == 1


def scan(member: str, hour_utc: int, minute: int = 0, team: str = "一队") -> ScanAcceptedV2:
    moment = datetime(2026, 11, 21, hour_utc, minute, tzinfo=UTC)
    return ScanAcceptedV2(scan_id=f"{team}{member}{hour_utc}{minute}", team_id=team, member_id=member,
                          checkpoint_id="CP", device_time=moment, corrected_time=moment, received_at=moment)
