"""The period's days as a calendar: dates, weekdays, Chinese day labels, weekends and calendar weeks.

Days are 0-based indexes into the horizon; the rules that count weekends or weeks ask the horizon which days
those are, so a period with dates and the benchmark's dateless one (starting on a Monday) are treated alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class Horizon:
    """The period's days. ``start`` gives them dates (for words like 11月6日); ``first_weekday`` (0 = Monday)
    places weekends and calendar weeks when there are no dates (the benchmark starts on a Monday)."""

    days: int
    start: dt.date | None = None
    first_weekday: int = 0

    def weekday(self, day: int) -> int:
        if self.start is not None:
            return (self.start + dt.timedelta(days=day)).weekday()
        return (self.first_weekday + day) % 7

    def date(self, day: int) -> dt.date | None:
        return None if self.start is None else self.start + dt.timedelta(days=day)

    def label(self, day: int) -> str:
        """Chinese words for a day: ``11月6日（周五）`` with dates, else ``第3天（周三）``."""
        when = self.date(day)
        head = f"{when.month}月{when.day}日" if when is not None else f"第{day + 1}天"
        return f"{head}（{WEEKDAYS_ZH[self.weekday(day)]}）"

    def weekends(self) -> list[tuple[int, ...]]:
        """Saturday/Sunday pairs (a lone Saturday or Sunday at either end counts as a weekend on its own)."""
        out: list[tuple[int, ...]] = []
        current: list[int] = []
        for day in range(self.days):
            wd = self.weekday(day)
            if wd == 5:
                current = [day]
            elif wd == 6:
                current.append(day)
                out.append(tuple(current))
                current = []
        if current:
            out.append(tuple(current))
        return out

    def weeks(self) -> list[tuple[int, ...]]:
        """Calendar weeks (Monday to Sunday) that fall at least partly in the horizon."""
        out: list[tuple[int, ...]] = []
        current: list[int] = []
        for day in range(self.days):
            if self.weekday(day) == 0 and current:
                out.append(tuple(current))
                current = []
            current.append(day)
        if current:
            out.append(tuple(current))
        return out
