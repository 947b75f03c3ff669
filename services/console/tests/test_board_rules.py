"""What the board works out from the services' answers, without servers (``console.pages.board.figures``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from console.pages.board import figures

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)  # 20:30 local


def _round(rid: str, route: str, state: str, area: str = "TX", *, started: bool = True) -> dict[str, object]:
    starts = NOW - timedelta(minutes=30)
    return {"id": rid, "route_id": route, "state": state, "area": area, "team_id": "一队",
            "starts_at": starts.isoformat(), "closes_at": (starts + timedelta(hours=2)).isoformat(),
            "start_due_at": (starts + timedelta(minutes=15)).isoformat(),
            "started_at": starts.isoformat() if started else None}


def test_a_checkpoint_is_done_once_scanned_else_the_worst_of_its_routes_rounds() -> None:
    checkpoints = [{"id": c, "name": c, "latitude": 27.8, "longitude": 120.6} for c in ("A", "B", "C", "D")]
    checkpoints.append({"id": "E", "name": "no position", "latitude": None, "longitude": None})
    routes = [{"id": "R1", "checkpoint_ids": ["A", "B"]}, {"id": "R2", "checkpoint_ids": ["B", "C"]}]
    rounds = [_round("r1", "R1", "in_progress"), _round("r2", "R2", "expired")]
    states = {p["id"]: p["state"] for p in figures.checkpoint_states(checkpoints, routes, rounds, ["A"], NOW)}
    assert states == {"A": "done", "B": "missed", "C": "missed", "D": "idle"}


def test_counters_of_rounds_and_standing_alerts() -> None:
    rounds = [_round("r1", "R1", "completed"), _round("r2", "R2", "expired"), _round("r3", "R3", "incomplete"),
              _round("r4", "R4", "pending", started=False), _round("r5", "R5", "in_progress")]
    assert figures.round_counts(rounds, NOW) == {"done": 1, "in_progress": 1, "late": 1, "missed": 2, "pending": 0}
    alerts = [{"status": "open", "severity": "high", "current_label": "通报"},
              {"status": "acknowledged", "severity": "critical", "current_label": "问责"},
              {"status": "open", "severity": "medium", "current_label": "提醒"},
              {"status": "open", "severity": "low", "current_label": None},
              {"status": "resolved", "severity": "high", "current_label": "约谈"}]
    counted = figures.alert_counts(alerts)
    assert counted["levels"] == {"critical": 1, "high": 1, "medium": 1, "low": 1}
    assert counted["steps"] == {"通报": 1, "挂牌督办": 0, "约谈": 0, "问责": 1, "其他": 1, "未升级": 1}


def test_townships_hold_rounds_and_live_coverage_against_the_published_roster() -> None:
    places = [{"code": "RA", "name": "瑞安市", "kind": "city"},
              {"code": "TX", "name": "塘下镇", "kind": "township", "parent": "RA"},
              {"code": "TX-HT", "name": "韩田村", "kind": "village", "parent": "TX"},
              {"code": "AY", "name": "安阳街道", "kind": "township", "parent": "RA"}]
    rounds = [_round("r1", "R1", "completed", "TX-HT"), _round("r2", "R2", "expired", "AY")]
    live = [{"township": "塘下镇", "checkpoints_covered": 2, "checkpoints_total": 3},  # keyed by the area as published
            {"township": "AY", "checkpoints_covered": 0, "checkpoints_total": 1}]
    shifts = [{"area": "TX", "member_ids": ["张三", "李四"], "starts_at": (NOW - timedelta(hours=1)).isoformat(),
               "ends_at": (NOW + timedelta(hours=2)).isoformat()},
              {"area": "AY", "member_ids": ["王五"], "starts_at": (NOW + timedelta(hours=3)).isoformat(),
               "ends_at": (NOW + timedelta(hours=5)).isoformat()}]
    rows = figures.township_rows(rounds, shifts, ["张三"], live, figures.Townships(places), NOW)
    assert [(r["township"], r["done"], r["missed"], r["covered"], r["checkpoints"], r["attending"], r["rostered"])
            for r in rows] == [("安阳街道", 0, 1, 0, 1, 0, 1), ("塘下镇", 1, 0, 2, 3, 1, 2)]  # a missed round first
    assert figures.on_duty(shifts, NOW) == 2
    unseen = figures.township_rows(rounds, None, None, None, figures.Townships([]), NOW)  # no shifts, no live view
    assert {(r["township"], r["rostered"], r["covered"]) for r in unseen} == {("TX-HT", None, None), ("AY", None, None)}


def test_the_current_cycle_its_days_left_and_the_units_most_overdue() -> None:
    cycles = [{"id": "c-20", "phase": "closed", "starts_at": "2026-02-01T00:00:00+08:00"},
              {"id": "c-21", "name": "第21期", "phase": "rectification", "starts_at": "2026-02-20T00:00:00+08:00",
               "closes_at": "2026-03-06T00:00:00+08:00"}]
    cycle = figures.current_cycle(cycles)
    assert cycle is not None and cycle["id"] == "c-21"
    tasks = [{"unit_id": "U-AY", "status": "open", "deadline": (NOW - timedelta(days=1)).isoformat()},
             {"unit_id": "U-AY", "status": "submitted", "overdue_at": NOW.isoformat()},
             {"unit_id": "U-YH", "status": "open", "deadline": (NOW + timedelta(days=1)).isoformat()},
             {"unit_id": "U-YH", "status": "verified"}, {"unit_id": "U-YH", "status": "merged"}]
    panel = figures.cycle_panel(cycle, tasks, NOW, ZONE)
    assert panel is not None
    assert panel["days_left"] == 4 and panel["totals"] == {"open": 3, "overdue": 2, "verified": 1}
    assert [u["unit"] for u in panel["most_overdue"]] == ["U-AY"]
    assert figures.cycle_panel(None, [], NOW, ZONE) is None


def test_hazard_clocks_run_24_hours_from_receipt_and_stop_when_the_task_is_verified() -> None:
    hazards = [{"hazard_id": "h1", "received_at": (NOW - timedelta(hours=20)).isoformat(), "category": "fire"},
               {"hazard_id": "h2", "received_at": (NOW - timedelta(hours=30)).isoformat(), "category": "gas"},
               {"hazard_id": "h3", "received_at": (NOW - timedelta(hours=2)).isoformat(),
                "inspection_task_id": "t-3"},
               {"hazard_id": "h4", "received_at": (NOW - timedelta(days=3)).isoformat()}]
    clocks = figures.hazard_clocks(hazards, {"t-3": {"status": "verified"}}, NOW, ZONE)
    assert [(h["id"], h["seconds_left"] // 3600, h["closed"]) for h in clocks] == [
        ("h2", -6, False), ("h1", 4, False), ("h3", 22, True)]


def test_ticker_lines_say_what_changed_not_what_was() -> None:
    before = {"routes": [{"route_id": "R1", "name": "塘下一线", "covered_checkpoint_ids": ["A"], "late_round_ids": []}]}
    after = {"routes": [{"route_id": "R1", "name": "塘下一线", "covered_checkpoint_ids": ["A", "B"],
                         "late_round_ids": ["r9"]}]}
    assert figures.coverage_changes(None, after, {}) == []
    assert figures.coverage_changes(before, after, {"B": "韩田村口"}) == [
        "巡逻打卡：塘下一线 · 韩田村口", "超时未开始：塘下一线（r9）"]
    rounds = {"r1": {"route_id": "R1", "team_id": "一队"}}
    assert figures.round_changes({"r1": "late"}, {"r1": "missed"}, {"R1": "塘下一线"}, rounds) == [
        "漏巡：塘下一线 · 一队"]
    assert figures.alert_line({"event": "alert-escalated", "label": "挂牌督办", "summary": "污水外溢",
                               "place_name": "塘下镇"}) == "升级督办 · 挂牌督办：污水外溢 · 塘下镇"
