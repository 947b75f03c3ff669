"""A directory entry and the rules of the hierarchy, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pingan_shared.events.directory_contracts import PLACE_LEVELS, DirectoryEntryV1, EntryKind, is_place


@dataclass(frozen=True)
class Entry:
    code: str
    kind: EntryKind
    name: str
    parent: str | None
    latitude: float | None = None
    longitude: float | None = None
    geometry: dict[str, Any] | None = None
    retired: bool = False

    @property
    def is_place(self) -> bool:
        return is_place(self.kind)

    def as_payload(self) -> DirectoryEntryV1:
        return DirectoryEntryV1(code=self.code, kind=self.kind, name=self.name, parent=self.parent,
                                latitude=self.latitude, longitude=self.longitude, geometry=self.geometry,
                                retired=self.retired)

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind.value, "name": self.name, "parent": self.parent,
                "latitude": self.latitude, "longitude": self.longitude, "geometry": self.geometry,
                "retired": self.retired}

    @classmethod
    def from_payload(cls, payload: DirectoryEntryV1) -> Entry:
        return cls(code=payload.code, kind=payload.kind, name=payload.name, parent=payload.parent,
                   latitude=payload.latitude, longitude=payload.longitude, geometry=payload.geometry,
                   retired=payload.retired)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Entry:
        return cls(code=row["code"], kind=EntryKind(row["kind"]), name=row["name"], parent=row["parent"],
                   latitude=row["latitude"], longitude=row["longitude"], geometry=row["geometry"],
                   retired=row["retired"])


def parent_problem(entry: Entry, parent: Entry | None) -> str | None:
    """Why ``parent`` cannot be ``entry``'s parent (Chinese first), None when it can. A place sits in a place of a
    higher level (the city has none); an organisation serves a place."""
    if entry.parent is None:
        if entry.kind is EntryKind.CITY:
            return None
        return "须填写上级地点编码 (parent is required: the place this sits in or serves)"
    if parent is None:
        return f"上级地点 {entry.parent} 不在目录中 (unknown parent place {entry.parent})"
    if not parent.is_place:
        return f"{entry.parent} 是组织，不是地点 ({entry.parent} is an organisation, not a place)"
    if entry.is_place and PLACE_LEVELS[parent.kind] >= PLACE_LEVELS[entry.kind]:
        return (f"{entry.parent}（{parent.name}）的层级不高于 {entry.kind.value} "
                f"(a {entry.kind.value} sits in a place of a higher level, not a {parent.kind.value})")
    if entry.parent == entry.code:
        return "不能以自身为上级 (an entry cannot be its own parent)"
    return None


@dataclass(frozen=True)
class Location:
    """Where a code sits: its organisation (if it names one), the nearest place (an organisation's: the place it
    serves) and the township (镇街) that place lies in, if any — a department serves the city, no township."""

    organisation: Entry | None
    place: Entry | None
    township: Entry | None

    @property
    def place_code(self) -> str | None:
        return self.place.code if self.place else None

    @property
    def township_code(self) -> str | None:
        return self.township.code if self.township else None


NOWHERE = Location(None, None, None)


def locate(lineage: list[Entry]) -> Location:
    """The location of ``lineage[0]`` from its lineage (itself, then upwards; empty: unknown)."""
    if not lineage:
        return NOWHERE
    first = lineage[0]
    organisation = None if first.is_place else first
    places = [e for e in lineage if e.is_place]
    township = next((e for e in places if e.kind is EntryKind.TOWNSHIP), None)
    return Location(organisation, places[0] if places else None, township)
