"""A silence (maintenance window, e.g. a typhoon day for one township): while active it holds the notifications
of the alerts it matches; matchers left empty match anything. A place matches every alert in that place or beneath
it (the alert's ``places``: its place's lineage, its unit in front), whatever its source."""

from __future__ import annotations

from collections.abc import Collection
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
    place: str | None = None

    def matches(self, *, kind: str, unit_id: str | None, area: str | None, places: Collection[str] = ()) -> bool:
        return ((self.kind is None or self.kind == kind) and (self.unit_id is None or self.unit_id == unit_id)
                and (self.area is None or self.area == area) and (self.place is None or self.place in places))

    def active_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at
