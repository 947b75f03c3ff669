"""What the directory pages make of roster's answers and of the edit form, without I/O: an entry's form values and
the body of its ``PUT``, its breadcrumbs, its position in words and the places a map draws."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

# The fields of an entry roster takes whole in ``PUT /v1/directory/entries/{code}`` (its EntryIn; no others).
ENTRY_FIELDS = ("code", "kind", "name", "parent", "latitude", "longitude", "geometry", "retired")
FORM_FIELDS = ("name", "parent", "latitude", "longitude", "geometry", "retired")
RETIRED_CHOICES = [("false", "在用", "in use"), ("true", "已撤销", "retired")]
_DECIMAL = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")


def form_values(entry: Mapping[str, Any]) -> dict[str, str]:
    """The edit form filled from the entry as roster answers it."""
    geometry = entry.get("geometry")
    return {
        "name": str(entry.get("name") or ""),
        "parent": str(entry.get("parent") or ""),
        "latitude": _number_text(entry.get("latitude")),
        "longitude": _number_text(entry.get("longitude")),
        "geometry": json.dumps(geometry, ensure_ascii=False) if geometry else "",
        "retired": "true" if entry.get("retired") else "false",
    }


def entry_body(entry: Mapping[str, Any], typed: Mapping[str, str]) -> dict[str, Any]:
    """The whole entry for ``PUT``: its code and kind as roster has them, the rest as typed. A number or a geometry
    that does not read as one is sent as the text typed, so that roster's refusal names the field and says why."""
    body = {key: entry.get(key) for key in ENTRY_FIELDS}
    body["name"] = typed.get("name", "").strip()
    body["parent"] = typed.get("parent", "").strip() or None
    for key in ("latitude", "longitude"):
        text = typed.get(key, "").strip()
        body[key] = (float(text) if _DECIMAL.match(text) else text) if text else None
    geometry = typed.get("geometry", "").strip()
    body["geometry"] = _json_or_text(geometry) if geometry else None
    body["retired"] = typed.get("retired") == "true"
    return body


def retiring(entry: Mapping[str, Any], retired: bool) -> dict[str, Any]:
    """The entry unchanged but for ``retired`` (a retired entry keeps its code and name for old records)."""
    return {**{key: entry.get(key) for key in ENTRY_FIELDS}, "retired": retired}


def crumbs(entry: Mapping[str, Any]) -> list[dict[str, str]]:
    """The places above the entry, from the top (roster's ``lineage`` is nearest first)."""
    return [{"code": str(e["code"]), "name": str(e.get("name") or e["code"]), "kind": str(e.get("kind") or "")}
            for e in reversed(entry.get("lineage") or [])]


def position_text(row: Mapping[str, Any]) -> str:
    latitude, longitude = row.get("latitude"), row.get("longitude")
    if latitude is None or longitude is None:
        return ""
    return f"{_number_text(latitude)}, {_number_text(longitude)}"


def has_position(row: Mapping[str, Any]) -> bool:
    return (row.get("latitude") is not None and row.get("longitude") is not None) or bool(row.get("geometry"))


def map_places(entry: Mapping[str, Any], children: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The places the map script draws (dot and name at a position, outline of a geometry): the entry itself, even
    retired, and its children that have a position and are in use."""
    shown = [entry, *(c for c in children if not c.get("retired") and c.get("code") != entry.get("code"))]
    return [{"code": e.get("code"), "name": e.get("name"), "kind": e.get("kind"),
             "lat": e.get("latitude") if e.get("longitude") is not None else None,
             "lon": e.get("longitude") if e.get("latitude") is not None else None,
             "geometry": e.get("geometry")} for e in shown if has_position(e)]


def _number_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
