"""What the patrol pages work out for themselves, without I/O: a round's state as the organiser reads it (patrol's
states plus "late", which depends on the clock), which night "tonight" is, which round of each route the map
shows, the map's points, and a form's text turned into the JSON body patrol's API takes.

A form's text is sent as typed wherever it is not a well-formed number, so that patrol — the one judge of a
checkpoint, route or plan — refuses it naming the field, and the page shows that reason beside the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# The states a round is shown in, in the legend's order, each with its words (zh, en).
STATE_LABELS: dict[str, tuple[str, str]] = {
    "pending": ("待巡", "not due yet"),
    "late": ("超时未开始", "late"),
    "in_progress": ("巡逻中", "in progress"),
    "done": ("已完成", "done"),
    "missed": ("漏巡", "missed"),
    "cancelled": ("已取消", "cancelled"),
}
# A checkpoint of a round on the map: scanned, missed, or as its round stands.
_BY_PATROL_STATE = {"completed": "done", "incomplete": "missed", "expired": "missed", "cancelled": "cancelled",
                    "in_progress": "in_progress"}
METHOD_LABELS: dict[str, tuple[str, str]] = {"nfc": ("NFC 标签", "NFC tag"), "qr": ("二维码", "QR code"),
                                             "manual": ("人工", "manual")}
FLAG_LABELS: dict[str, tuple[str, str]] = {
    "outside-radius": ("超出点位范围", "outside the radius"),
    "impossible-speed": ("移动速度异常", "impossible speed"),
    "clock-skew": ("设备时钟偏差", "device clock skew"),
    "two-devices": ("同时使用两台设备", "two devices at once"),
    "repeated-scan": ("重复扫码", "repeated scan"),
    "weaker-method": ("扫码方式低于要求", "weaker scan method"),
}
NIGHT_TURN = timedelta(hours=12)  # a night runs from local noon to noon, named by its evening's date


def instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def display_state(round_row: Mapping[str, Any], now: datetime) -> str:
    """``pending`` turns ``late`` once its start grace has passed with no scan (patrol raises its not-started
    alert then); ``expired`` (no scan at all) and ``incomplete`` are both 漏巡 to the organiser."""
    state = str(round_row.get("state", ""))
    if state == "pending":
        due = instant(round_row.get("start_due_at"))
        return "late" if due is not None and now >= due else "pending"
    return _BY_PATROL_STATE.get(state, "pending")


def started_late(round_row: Mapping[str, Any]) -> bool:
    started, due = instant(round_row.get("started_at")), instant(round_row.get("start_due_at"))
    return started is not None and due is not None and started > due


def tonight(now: datetime, zone: ZoneInfo) -> date:
    """The night in force: before local noon it is still last night (a 20:00–02:00 patrol's)."""
    return (now.astimezone(zone) - NIGHT_TURN).date()


def current_rounds(rounds: Iterable[Mapping[str, Any]], now: datetime) -> dict[str, Mapping[str, Any]]:
    """Per route, the round the map shows: the one whose slot (with its grace) holds ``now``, else the latest that
    began before ``now``, else the next to begin. Cancelled rounds only when a route has nothing else."""
    def rank(row: Mapping[str, Any]) -> tuple[int, float]:
        starts, closes = instant(row.get("starts_at")), instant(row.get("closes_at"))
        if starts is None or closes is None:
            return (9, 0.0)
        live = row.get("state") != "cancelled"
        if live and starts <= now < closes:
            return (0, -starts.timestamp())
        if live and starts <= now:
            return (1, -starts.timestamp())
        if live:
            return (2, starts.timestamp())
        return (3, abs((now - starts).total_seconds()))

    chosen: dict[str, Mapping[str, Any]] = {}
    for row in rounds:
        route = str(row.get("route_id", ""))
        if route not in chosen or rank(row) < rank(chosen[route]):
            chosen[route] = row
    return chosen


def checkpoint_state(round_state: str, checkpoint: Mapping[str, Any]) -> str:
    if checkpoint.get("first_scan_at"):
        return "done"
    if checkpoint.get("missed"):
        return "missed"
    return round_state


def map_route(route: Mapping[str, Any] | None, checkpoints: Mapping[str, Mapping[str, Any]], *,
              state: str, round_row: Mapping[str, Any] | None = None,
              detail: Mapping[str, Any] | None = None, window: str = "") -> dict[str, Any]:
    """One route on a map: its checkpoints in route order with their places and states, and its round. A
    checkpoint patrol holds no position for is left off the map (it is still in the tables)."""
    ids: Sequence[str] = [c["checkpoint_id"] for c in detail["checkpoints"]] if detail else (
        list(route.get("checkpoint_ids", [])) if route else [])
    of_round = {c["checkpoint_id"]: c for c in detail["checkpoints"]} if detail else {}
    points = []
    for checkpoint_id in ids:
        known = checkpoints.get(checkpoint_id)
        if not known or known.get("latitude") is None or known.get("longitude") is None:
            continue
        point_state = checkpoint_state(state, of_round[checkpoint_id]) if checkpoint_id in of_round else state
        points.append({"id": checkpoint_id, "name": known.get("name") or checkpoint_id,
                       "lat": known["latitude"], "lon": known["longitude"], "state": point_state})
    route_id = str(route["id"]) if route else str((round_row or {}).get("route_id", ""))
    return {"route_id": route_id, "route_name": (route or {}).get("name") or route_id,
            "round_id": (round_row or {}).get("id"), "team_id": (round_row or {}).get("team_id"),
            "window": window, "state": state, "ordered": bool((route or {}).get("ordered")), "points": points}


def place_points(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The directory's places a map labels (and outlines, where an entry has a GeoJSON geometry)."""
    return [{"code": e["code"], "name": e["name"], "kind": e["kind"], "lat": e.get("latitude"),
             "lon": e.get("longitude"), "geometry": e.get("geometry")}
            for e in entries if not e.get("retired") and (e.get("latitude") is not None or e.get("geometry"))]


# --- form text to JSON -------------------------------------------------------------------------------------

_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")
_ID_SEPARATORS = re.compile(r"[\s,，、;；]+")


def number(text: str, *, integer: bool = False) -> int | float | str | None:
    """A typed number as JSON: empty → None (left out), a number → the number, anything else → the text, for
    patrol to refuse by its field."""
    value = text.strip()
    if not value:
        return None
    if _INTEGER.fullmatch(value):
        return int(value)
    if not integer and _DECIMAL.fullmatch(value):
        return float(value)
    return value


def split_ids(text: str) -> list[str]:
    """Checkpoint ids as typed: one per line, or separated by commas, spaces or 、."""
    return [part for part in _ID_SEPARATORS.split(text.strip()) if part]


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value not in (None, "")}


def checkpoint_body(values: Mapping[str, str]) -> dict[str, Any]:
    return _present({
        "id": values.get("id", "").strip(), "tag": values.get("tag", ""), "name": values.get("name", ""),
        "latitude": number(values.get("latitude", "")), "longitude": number(values.get("longitude", "")),
        "radius_m": number(values.get("radius_m", "")), "expected_method": values.get("expected_method") or None,
        "area": values.get("area", "").strip() or None,
    })


def route_body(values: Mapping[str, str], *, with_id: bool) -> dict[str, Any]:
    body = _present({"name": values.get("name", ""), "area": values.get("area", "").strip() or None})
    body["ordered"] = values.get("ordered") in ("1", "on", "true")
    body["checkpoint_ids"] = split_ids(values.get("checkpoint_ids", ""))
    if with_id:
        body["id"] = values.get("id", "").strip()
    return body


def plan_body(values: Mapping[str, str]) -> dict[str, Any]:
    return _present({
        "id": values.get("id", "").strip(), "team_id": values.get("team_id", "").strip(),
        "route_id": values.get("route_id", "").strip(), "first_date": values.get("first_date", "").strip(),
        "last_date": values.get("last_date", "").strip() or None,
        "window_start": values.get("window_start", "").strip(), "window_end": values.get("window_end", "").strip(),
        "every_minutes": number(values.get("every_minutes", ""), integer=True),
        "rounds_per_night": number(values.get("rounds_per_night", ""), integer=True),
        "start_grace_minutes": number(values.get("start_grace_minutes", ""), integer=True),
        "checkpoint_grace_minutes": number(values.get("checkpoint_grace_minutes", ""), integer=True),
    })


def local_window(round_row: Mapping[str, Any], zone: ZoneInfo) -> str:
    """A round's slot as local clock times, ``20:00–22:00``."""
    starts, ends = instant(round_row.get("starts_at")), instant(round_row.get("ends_at"))
    if starts is None or ends is None:
        return ""
    return f"{starts.astimezone(zone):%H:%M}–{ends.astimezone(zone):%H:%M}"


def percent(ratio: Any) -> str:
    return "" if ratio is None else f"{float(ratio) * 100:.1f}%"
