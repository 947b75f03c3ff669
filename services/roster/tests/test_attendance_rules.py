from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from roster.attendance import local_day

BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_night_patrol_after_midnight_counts_for_the_local_date() -> None:
    # 17:30 UTC is 01:30 the next day in Ruian
    assert local_day(datetime(2026, 11, 21, 17, 30, tzinfo=UTC), BEIJING) == date(2026, 11, 22)
    assert local_day(datetime(2026, 11, 21, 15, 59, tzinfo=UTC), BEIJING) == date(2026, 11, 21)


def test_the_zone_is_a_setting_not_a_constant() -> None:
    moment = datetime(2026, 11, 21, 17, 30, tzinfo=UTC)
    assert local_day(moment, ZoneInfo("Europe/Berlin")) == date(2026, 11, 21)
