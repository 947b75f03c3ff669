"""A silence (maintenance window, e.g. a typhoon day for one township): while active it holds the notifications
of the alerts it matches; matchers left empty match anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Silence:
    id: str
    kind: str | None
    unit_id: str | None
    area: str | None
    starts_at: datetime
    ends_at: datetime

    def matches(self, *, kind: str, unit_id: str | None, area: str | None) -> bool:
        return ((self.kind is None or self.kind == kind) and (self.unit_id is None or self.unit_id == unit_id)
                and (self.area is None or self.area == area))

    def active_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at
