"""The directory as roster keeps it (DESIGN.md §3: roster owns the directory of places and organisations): what an
entry given by an organiser or a CSV row is, and in which order a file's entries are written. No I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingan_shared.directory.entries import Entry
from pingan_shared.events.directory_contracts import PLACE_LEVELS, EntryKind
from pingan_shared.inputs import JsonBool, identifier, non_blank

DIRECTORY_CSV_COLUMNS = ("code", "kind", "name", "parent", "latitude", "longitude", "geometry", "retired")
REQUIRED_CSV_COLUMNS = ("code", "kind", "name", "parent")
Code = identifier(64, description="统计用区划代码 for 镇街/村社; the organisation's own for grids, teams and units")


class EntryIn(BaseModel):
    """A place or an organisation, as given."""

    model_config = ConfigDict(extra="forbid")

    code: Code  # type: ignore[valid-type]
    kind: EntryKind
    name: non_blank(200, description="the Chinese name, e.g. 塘下镇")  # type: ignore[valid-type]
    parent: identifier(64, description=(  # type: ignore[valid-type]
        "a place's parent place (none only for the city); the place an organisation serves")) | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    geometry: dict[str, Any] | None = Field(default=None, description="a GeoJSON geometry (its type and "
                                            "coordinates), for maps")
    retired: JsonBool = False

    @field_validator("geometry")
    @classmethod
    def _geojson(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not isinstance(value.get("type"), str):
            raise ValueError("须为 GeoJSON 几何对象 (must be a GeoJSON geometry with a type)")
        if value is not None and len(json.dumps(value)) > 200_000:
            raise ValueError("几何过大 (geometry over 200 kB)")
        return value

    def entry(self) -> Entry:
        return Entry(code=self.code, kind=self.kind, name=self.name, parent=self.parent, latitude=self.latitude,
                     longitude=self.longitude, geometry=self.geometry, retired=self.retired)


def entry_from_row(row: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row as the model's input: blank cells are absent, numbers and JSON read as such (the model judges)."""
    data: dict[str, Any] = {k: row.get(k, "").strip() for k in ("code", "kind", "name", "parent")}
    if not data["parent"]:
        data["parent"] = None
    for key in ("latitude", "longitude"):
        cell = row.get(key, "").strip()
        if cell:
            try:
                data[key] = float(cell)
            except ValueError:
                data[key] = cell  # the model says why
    geometry = row.get("geometry", "").strip()
    if geometry:
        try:
            data["geometry"] = json.loads(geometry)
        except ValueError:
            data["geometry"] = geometry
    retired = row.get("retired", "").strip().lower()
    if retired:
        data["retired"] = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}.get(
            retired, retired)
    return data


def writing_order(entry: Entry) -> int:
    """Places from the top down, then organisations: a file may list a village before its township."""
    return PLACE_LEVELS.get(entry.kind, len(PLACE_LEVELS))
