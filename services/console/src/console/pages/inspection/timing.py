"""How long is left: a cycle's current phase and a task's deadline, in local days, as the pages show them. No I/O.

The service's deadlines are instants at the midnight that ends the last day (``inspection.domain.cycles
.end_of_day``), so the last day is the local date just before the deadline; days left counts local calendar days
from today to that last day (0: due today; below 0: overdue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from console.web.i18n import translate


def instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def last_day(deadline: datetime, zone: ZoneInfo) -> date:
    return (deadline - timedelta(microseconds=1)).astimezone(zone).date()


def days_left(deadline: datetime, now: datetime, zone: ZoneInfo) -> int:
    return (last_day(deadline, zone) - now.astimezone(zone).date()).days


@dataclass(frozen=True)
class Countdown:
    """What a page says of a deadline: how many days, and whether it is passed."""

    days: int | None  # None: no deadline (a closed cycle, a finished task)
    overdue: bool

    def text(self, lang: str) -> str:
        if self.days is None:
            return ""
        if self.overdue:
            late = max(self.days * -1, 0)
            if not late:
                return translate(lang, "inspection.overdue")
            return _counted(translate(lang, "inspection.overdue_n"), late, lang)
        if self.days == 0:
            return translate(lang, "inspection.due_today")
        return _counted(translate(lang, "inspection.days_left_n"), self.days, lang)

    @property
    def tone(self) -> str:
        """The tag's class: overdue red, three days or fewer amber."""
        if self.days is None:
            return ""
        if self.overdue:
            return "tag-bad"
        return "tag-warn" if self.days <= 3 else "tag-good"


def _counted(text: str, n: int, lang: str) -> str:
    """``{n}`` filled in; English says "1 day", not "1 days"."""
    filled = text.replace("{n}", str(n))
    return filled.replace("1 days", "1 day") if lang == "en" and n == 1 else filled


NONE = Countdown(None, False)


def cycle_countdown(cycle: Mapping[str, Any], now: datetime, zone: ZoneInfo) -> Countdown:
    """Days left in the cycle's current phase (to the covert phase's end, or to the close)."""
    ends = {"covert": cycle.get("covert_ends_at"), "rectification": cycle.get("closes_at")}.get(
        str(cycle.get("phase")))
    moment = instant(ends)
    if moment is None:
        return NONE
    return Countdown(days_left(moment, now, zone), False)


FINISHED = frozenset({"verified", "merged"})


def task_countdown(task: Mapping[str, Any], now: datetime, zone: ZoneInfo) -> Countdown:
    """Days to a task's deadline; overdue once the service said so or the deadline has passed unverified."""
    deadline = instant(task.get("deadline"))
    if deadline is None or task.get("status") in FINISHED:
        return NONE
    overdue = task.get("overdue_at") is not None or now >= deadline
    return Countdown(days_left(deadline, now, zone), overdue)


def percent(rate: Any) -> str:
    """0.8333 → 83.3%; anything else as a dash."""
    try:
        return f"{float(rate) * 100:.1f}%"
    except (TypeError, ValueError):
        return "—"
