"""What the board shows, worked out from what the services answered, without I/O: each checkpoint's colour tonight,
the counters, rounds and attendance per township, the current 211 cycle, the hazards' 24-hour clocks, and the
ticker lines a change between two readings makes.

Every function takes the services' JSON as it came (dicts and lists) and returns plain JSON for the browser, so the
relay (``relay.py``) only reads and sends, and ``test_board_rules.py`` checks the sums without servers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from console.pages.patrol.rules import current_rounds, display_state, instant

# A checkpoint's colour, worst first: the first state any of its routes' current rounds is in wins, unless the live
# stream saw it scanned tonight (done).
_WORST_FIRST = ("missed", "late", "in_progress", "pending", "done", "cancelled")
LADDER = ("通报", "挂牌督办", "约谈", "问责")  # the ladder steps the board counts by name (a policy's step label)
SEVERITIES = ("critical", "high", "medium", "low")
HAZARD_HOURS = 24  # a hazard reported on patrol is to be closed within a day (the seeds' 24-hour rule)
TICKER_LINES = 30
OVERDUE_UNITS = 5  # the units most overdue the 211 panel names


def checkpoint_states(checkpoints: Sequence[Mapping[str, Any]], routes: Sequence[Mapping[str, Any]],
                      rounds: Sequence[Mapping[str, Any]], covered: Iterable[str],
                      now: datetime) -> list[dict[str, Any]]:
    """Each checkpoint with a position and its state tonight: ``done`` once scanned tonight (the live stream's
    covered ids), else the worst state among the current rounds of the routes through it, else ``idle`` (no round
    tonight)."""
    covered_ids = set(covered)
    through: dict[str, list[str]] = {}
    for route in routes:
        for checkpoint_id in route.get("checkpoint_ids") or []:
            through.setdefault(str(checkpoint_id), []).append(str(route["id"]))
    shown = {route_id: display_state(row, now) for route_id, row in current_rounds(rounds, now).items()}
    points = []
    for checkpoint in checkpoints:
        if checkpoint.get("latitude") is None or checkpoint.get("longitude") is None or checkpoint.get("retired"):
            continue
        cid = str(checkpoint["id"])
        states = [shown[r] for r in through.get(cid, []) if r in shown]
        if cid in covered_ids:
            state = "done"
        elif states:
            state = min(states, key=lambda s: _WORST_FIRST.index(s) if s in _WORST_FIRST else len(_WORST_FIRST))
        else:
            state = "idle"
        points.append({"id": cid, "name": checkpoint.get("name") or cid, "lat": checkpoint["latitude"],
                       "lon": checkpoint["longitude"], "state": state})
    return points


def round_counts(rounds: Iterable[Mapping[str, Any]], now: datetime) -> dict[str, int]:
    """Tonight's rounds by the state an organiser reads (``late``: not started past its grace; 漏巡 = missed)."""
    counted = Counter(display_state(row, now) for row in rounds)
    return {state: counted.get(state, 0) for state in ("done", "in_progress", "late", "missed", "pending")}


def alert_counts(alerts: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Open (not resolved) alerts by level and by the ladder step they stand at; a step of another name is
    ``其他``, an alert not yet past its first step ``未升级``."""
    levels: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    for alert in alerts:
        if alert.get("status") == "resolved":
            continue
        levels[str(alert.get("severity") or "")] += 1
        label = str(alert.get("current_label") or "")
        steps[label if label in LADDER else ("其他" if label else "未升级")] += 1
    return {"levels": {level: levels.get(level, 0) for level in SEVERITIES},
            "steps": {step: steps.get(step, 0) for step in (*LADDER, "其他", "未升级")}}


class Townships:
    """Which township (镇街) a place lies in, by the directory's places as patrol copies them (each with its
    ``parent``): an area may be a village or a grid, given by code or by name (patrol's live figures key routes by
    their area as published)."""

    def __init__(self, places: Iterable[Mapping[str, Any]]) -> None:
        self._places = {str(p["code"]): p for p in places if p.get("code")}
        self._codes = {str(p.get("name")): code for code, p in self._places.items() if p.get("name")}

    def of(self, area: Any) -> str:
        """The township's name; the area as given when the directory does not place it; — for none."""
        given = str(area or "")
        code = given if given in self._places else self._codes.get(given, "")
        for _ in range(8):  # 市 → 镇街 → 村社 → 网格: a few steps up at most (and no loop for ever)
            place = self._places.get(code)
            if place is None:
                break
            if place.get("kind") == "township":
                return str(place.get("name") or code)
            code = str(place.get("parent") or "")
        return given or "—"


def township_rows(rounds: Iterable[Mapping[str, Any]], shifts: Iterable[Mapping[str, Any]] | None,
                  present: Iterable[str] | None, live: Iterable[Mapping[str, Any]] | None, townships: Townships,
                  now: datetime) -> list[dict[str, Any]]:
    """Per township: tonight's rounds by state (patrol's record), the checkpoints covered of those expected
    (faust's live figures per night and place; None while the live view is not read), and the members on its
    published shifts tonight against those seen at work today (roster's attendance: a scan or a check-in).
    ``shifts`` None: the person may not read roster's shifts (the column says so)."""
    rows: dict[str, dict[str, Any]] = {}

    def row(area: Any) -> dict[str, Any]:
        name = townships.of(area)
        if name not in rows:
            rows[name] = {"township": name, "rounds": 0, "done": 0, "in_progress": 0, "late": 0, "missed": 0,
                          "covered": None if live is None else 0, "checkpoints": None if live is None else 0,
                          "rostered": None if shifts is None else 0, "attending": None if shifts is None else 0}
        return rows[name]

    for round_row in rounds:
        entry = row(round_row.get("area"))
        entry["rounds"] += 1
        state = display_state(round_row, now)
        if state in entry:
            entry[state] += 1
    for figures in live or ():
        entry = row(figures.get("township"))
        entry["covered"] += int(figures.get("checkpoints_covered") or 0)
        entry["checkpoints"] += int(figures.get("checkpoints_total") or 0)
    seen = set(present or ())
    for shift in shifts or ():
        entry = row(shift.get("area"))
        members = {str(m) for m in shift.get("member_ids") or []}
        entry["rostered"] += len(members)
        entry["attending"] += len(members & seen)
    return sorted(rows.values(), key=lambda r: (-r["missed"], -r["late"], r["township"]))


def on_duty(shifts: Iterable[Mapping[str, Any]], now: datetime) -> int:
    """Members on a published shift running now."""
    members: set[str] = set()
    for shift in shifts:
        starts, ends = instant(shift.get("starts_at")), instant(shift.get("ends_at"))
        if starts is not None and ends is not None and starts <= now < ends:
            members.update(str(m) for m in shift.get("member_ids") or [])
    return len(members)


def current_cycle(cycles: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The cycle running now: the latest-starting one not closed (a new one may be open beside the closing one)."""
    live = [c for c in cycles if c.get("phase") != "closed"]
    return max(live, key=lambda c: str(c.get("starts_at") or ""), default=None)


def cycle_panel(cycle: Mapping[str, Any] | None, tasks: Iterable[Mapping[str, Any]], now: datetime,
                zone: ZoneInfo) -> dict[str, Any] | None:
    """The cycle's phase and days left in it, its tasks by unit (open / overdue / verified) and the units most
    overdue."""
    if cycle is None:
        return None
    phase = str(cycle.get("phase") or "")
    ends = instant(cycle.get("covert_ends_at") if phase == "covert" else cycle.get("closes_at"))
    days_left = None if ends is None else max(0, (ends.astimezone(zone).date() - now.astimezone(zone).date()).days)
    units: dict[str, dict[str, Any]] = {}
    for task in tasks:
        status = str(task.get("status") or "")
        if status == "merged":
            continue
        unit = str(task.get("unit_id") or "待分派")
        entry = units.setdefault(unit, {"unit": unit, "open": 0, "overdue": 0, "verified": 0})
        if status == "verified":
            entry["verified"] += 1
        else:
            entry["open"] += 1
            if task.get("overdue_at") or _past(task.get("deadline"), now):
                entry["overdue"] += 1
    by_unit = sorted(units.values(), key=lambda u: (-u["overdue"], -u["open"], u["unit"]))
    return {"id": cycle.get("id"), "name": cycle.get("name") or cycle.get("id"), "phase": phase,
            "days_left": days_left, "units": by_unit,
            "most_overdue": [u for u in by_unit if u["overdue"]][:OVERDUE_UNITS],
            "totals": {k: sum(u[k] for u in by_unit) for k in ("open", "overdue", "verified")}}


def _past(value: Any, now: datetime) -> bool:
    moment = instant(value)
    return moment is not None and moment <= now


def hazard_clocks(hazards: Iterable[Mapping[str, Any]], tasks: Mapping[str, Mapping[str, Any]], now: datetime,
                  zone: ZoneInfo, *, most: int = 12) -> list[dict[str, Any]]:
    """The hazards reported on patrol in the last two days, each with its 24-hour clock: seconds left (negative:
    over), or closed once its inspection task is verified. Open ones first, the least time left first."""
    shown = []
    for hazard in hazards:
        received = instant(hazard.get("received_at"))
        if received is None or now - received > timedelta(hours=2 * HAZARD_HOURS):
            continue
        task = tasks.get(str(hazard.get("inspection_task_id") or ""))
        closed = bool(task and task.get("status") == "verified")
        shown.append({"id": hazard.get("id") or hazard.get("hazard_id"), "category": hazard.get("category"),
                      "place": hazard.get("place") or "", "description": hazard.get("description") or "",
                      "received": f"{received.astimezone(zone):%H:%M}", "closed": closed,
                      "seconds_left": int((received + timedelta(hours=HAZARD_HOURS) - now).total_seconds())})
    shown.sort(key=lambda h: (h["closed"], h["seconds_left"]))
    return shown[:most]


def coverage_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any],
                     names: Mapping[str, str]) -> list[str]:
    """Ticker lines for what a new live coverage view adds to the one before: checkpoints newly scanned, rounds
    newly late. The first view makes none (it is the state, not news)."""
    if before is None:
        return []
    lines = []
    old_routes = {r["route_id"]: r for r in before.get("routes") or []}
    for route in after.get("routes") or []:
        old = old_routes.get(route["route_id"], {})
        fresh = set(route.get("covered_checkpoint_ids") or []) - set(old.get("covered_checkpoint_ids") or [])
        for cid in sorted(fresh):
            lines.append(f"巡逻打卡：{route.get('name') or route['route_id']} · {names.get(cid, cid)}")
        for rid in sorted(set(route.get("late_round_ids") or []) - set(old.get("late_round_ids") or [])):
            lines.append(f"超时未开始：{route.get('name') or route['route_id']}（{rid}）")
    return lines


def round_changes(before: Mapping[str, str] | None, after: Mapping[str, str], route_names: Mapping[str, str],
                  rounds: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Ticker lines for rounds that turned missed (漏巡) or done between two readings of the record."""
    if before is None:
        return []
    words = {"missed": "漏巡", "done": "完成巡逻"}
    lines = []
    for round_id, state in sorted(after.items()):
        if state in words and before.get(round_id) != state:
            route = str(rounds[round_id].get("route_id") or "")
            lines.append(f"{words[state]}：{route_names.get(route, route)} · {rounds[round_id].get('team_id') or ''}")
    return lines


# alerts' lifecycle kinds on its stream, in words; its notifications (one per recipient) are not news here
ALERT_EVENTS = {"alert-raised": "新告警", "alert-escalated": "升级督办", "alert-acknowledged": "已签收",
                "alert-resolved": "已解除"}


def alert_line(event: Mapping[str, Any]) -> str:
    """A ticker line for an alert's lifecycle event relayed from alerts' stream."""
    kind = ALERT_EVENTS.get(str(event.get("event") or ""), "告警")
    step = f" · {event['label']}" if event.get("label") else ""
    where = f" · {event['place_name']}" if event.get("place_name") else ""
    return f"{kind}{step}：{event.get('summary') or event.get('alert_id') or ''}{where}"
