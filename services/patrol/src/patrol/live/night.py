"""What "tonight" is: one night runs from local noon to the next local noon (Asia/Shanghai by default).

Patrols run in the evening and across midnight (20:00–02:00), so a calendar day would cut a night in two;
noon to noon puts a whole night's work under one date, the date of its evening. Every figure of the live view
and of the record is counted per night, with this one definition.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NIGHT_TURNS_AT = time(12, 0)  # local noon: a night is named after the date of its evening
_TURN = timedelta(hours=NIGHT_TURNS_AT.hour, minutes=NIGHT_TURNS_AT.minute)
NIGHT_SECONDS = 24 * 3600


def night_of(instant: datetime, zone: ZoneInfo) -> date:
    """The night an instant belongs to: 2026-11-22 13:00 and 2026-11-23 02:00 local both are night 2026-11-22."""
    return (instant.astimezone(zone) - _TURN).date()


def night_bounds(night: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a night in UTC: local noon of its date to local noon of the next date."""
    start = datetime.combine(night, NIGHT_TURNS_AT, tzinfo=zone)
    end = datetime.combine(night + timedelta(days=1), NIGHT_TURNS_AT, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def window_timestamp(instant: datetime, zone: ZoneInfo) -> float:
    """A timestamp for faust's tumbling windows, whose edges fall on multiples of the window size since the
    epoch (UTC midnights): the local wall time moved back by the noon turn and read as if it were UTC. A
    one-day window over it then starts exactly at the night's local noon, and its start names the night."""
    wall = (instant.astimezone(zone) - _TURN).replace(tzinfo=UTC)
    return wall.timestamp()


def night_of_window(window_start: float) -> date:
    """The night a tumbling window (started at ``window_start``, see ``window_timestamp``) counts."""
    return datetime.fromtimestamp(window_start, UTC).date()
