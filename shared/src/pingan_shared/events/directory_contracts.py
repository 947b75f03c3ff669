"""The directory of places and organisations (DESIGN.md §3): one owner publishes every entry's whole state on a
compacted topic keyed by its code; every service keeps a local copy and refers to places and organisations by
code only.

A place is a level of the city's hierarchy — 市 (city) → 镇街 (township/street) → 村社 (village/community) → 网格
(grid) — its code the official statistical division code (统计用区划代码) where one exists, the organisation's own
for grids. An organisation (a township government, a department, a police station, a patrol team, a security
company, a militia unit) is attached to the place it serves. An entry is never deleted: one that is gone is
published ``retired``, so the codes that old records name keep their names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from pingan_shared.events.contracts import Contract


class EntryKind(StrEnum):
    CITY = "city"  # 市 (县级市 included)
    TOWNSHIP = "township"  # 镇街: a town (镇) or a street (街道)
    VILLAGE = "village"  # 村社: an administrative village or a community
    GRID = "grid"  # 网格
    GOVERNMENT = "government"  # 镇政府 / 街道办事处 (and its 平安办)
    DEPARTMENT = "department"  # 部门, assessed together with the townships (捆绑考核)
    POLICE_STATION = "police-station"  # 派出所
    PATROL_TEAM = "patrol-team"  # 巡逻队 of a village or a company
    COMPANY = "company"  # 保安公司
    MILITIA = "militia"  # 民兵


# A place's level, from the top: a place's parent is a place of a lower number.
PLACE_LEVELS: dict[EntryKind, int] = {EntryKind.CITY: 0, EntryKind.TOWNSHIP: 1, EntryKind.VILLAGE: 2,
                                      EntryKind.GRID: 3}
ORGANISATION_KINDS = frozenset(set(EntryKind) - set(PLACE_LEVELS))

KIND_NAMES: dict[EntryKind, str] = {
    EntryKind.CITY: "市", EntryKind.TOWNSHIP: "镇街", EntryKind.VILLAGE: "村社", EntryKind.GRID: "网格",
    EntryKind.GOVERNMENT: "镇街政府", EntryKind.DEPARTMENT: "部门", EntryKind.POLICE_STATION: "派出所",
    EntryKind.PATROL_TEAM: "巡逻队", EntryKind.COMPANY: "保安公司", EntryKind.MILITIA: "民兵",
}


def is_place(kind: EntryKind) -> bool:
    return kind in PLACE_LEVELS


class DirectoryEntryV1(Contract):
    """directory owner → every service (``directory.entry-defined``; key = code): an entry's whole state."""

    code: str = Field(min_length=1, max_length=64, description="统计用区划代码 for 镇街/村社, the organisation's own "
                      "code for grids, teams and units")
    kind: EntryKind
    name: str = Field(min_length=1, max_length=200, description="the Chinese name, e.g. 塘下镇")
    parent: str | None = Field(default=None, max_length=64, description=(
        "a place's parent place (none for the city at the top); the place an organisation serves"))
    latitude: float | None = Field(default=None, ge=-90, le=90, description="centre, for maps")
    longitude: float | None = Field(default=None, ge=-180, le=180)
    geometry: dict[str, Any] | None = Field(default=None, description="a GeoJSON geometry, for maps")
    retired: bool = Field(default=False, description="gone from the city: kept so that old records keep a name")
