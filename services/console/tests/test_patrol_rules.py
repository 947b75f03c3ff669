"""The patrol pages' own rules, without servers: a round's shown state by the clock, which night is tonight, which
round of a route the map shows, and a form's text as patrol's JSON (numbers as numbers, anything else as typed, for
patrol to refuse by its field); and the map's tile source, whose host the content security policy lets in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from console.pages.patrol.rules import (
    checkpoint_body,
    checkpoint_state,
    current_rounds,
    display_state,
    map_route,
    number,
    plan_body,
    route_body,
    split_ids,
    tonight,
)
from console.settings import ConsoleSettings
from console.web.security import content_security_policy
from pydantic import ValidationError

ZONE = ZoneInfo("Asia/Shanghai")
EVENING = datetime(2026, 3, 2, 20, 0, tzinfo=ZONE)


def a_round(state: str, starts: datetime, *, route: str = "R-1", round_id: str = "P@1", **more: object) -> dict:
    return {"id": round_id, "route_id": route, "state": state, "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "start_due_at": (starts + timedelta(minutes=15)).isoformat(),
            "closes_at": (starts + timedelta(hours=2, minutes=10)).isoformat(), **more}


def test_a_pending_round_turns_late_when_its_start_grace_has_passed() -> None:
    pending = a_round("pending", EVENING)
    assert display_state(pending, EVENING + timedelta(minutes=14)) == "pending"
    assert display_state(pending, EVENING + timedelta(minutes=15)) == "late"
    assert display_state(a_round("in_progress", EVENING), EVENING) == "in_progress"
    assert display_state(a_round("completed", EVENING), EVENING) == "done"
    assert display_state(a_round("incomplete", EVENING), EVENING) == "missed"
    assert display_state(a_round("expired", EVENING), EVENING) == "missed"
    assert display_state(a_round("cancelled", EVENING), EVENING) == "cancelled"


def test_tonight_runs_from_noon_to_noon() -> None:
    assert tonight(datetime(2026, 3, 2, 11, 59, tzinfo=ZONE), ZONE) == date(2026, 3, 1)
    assert tonight(datetime(2026, 3, 2, 12, 0, tzinfo=ZONE), ZONE) == date(2026, 3, 2)
    assert tonight(datetime(2026, 3, 3, 1, 30, tzinfo=ZONE), ZONE) == date(2026, 3, 2)
    # 16:00 UTC is midnight of the 3rd in Shanghai: still the night of the 2nd
    assert tonight(datetime(2026, 3, 2, 16, 0, tzinfo=UTC), ZONE) == date(2026, 3, 2)
    assert tonight(datetime(2026, 3, 2, 4, 0, tzinfo=UTC), ZONE) == date(2026, 3, 2)  # noon there


def test_the_map_shows_each_routes_round_in_force() -> None:
    first = a_round("completed", EVENING, round_id="P@20")
    second = a_round("in_progress", EVENING + timedelta(hours=2), round_id="P@22")
    third = a_round("pending", EVENING + timedelta(hours=4), round_id="P@24")
    other = a_round("pending", EVENING + timedelta(hours=1), route="R-2", round_id="Q@21")
    rounds = [first, second, third, other]
    assert {r: v["id"] for r, v in current_rounds(rounds, EVENING + timedelta(hours=2, minutes=5)).items()} == {
        "R-1": "P@22", "R-2": "Q@21"}
    # between rounds (in the second's grace, before the third): the latest begun
    assert current_rounds(rounds, EVENING + timedelta(hours=4, minutes=12))["R-1"]["id"] == "P@24"
    assert current_rounds(rounds, EVENING - timedelta(hours=1))["R-1"]["id"] == "P@20"  # none begun: the next
    cancelled = a_round("cancelled", EVENING, round_id="P@c", route="R-3")
    assert current_rounds([cancelled], EVENING)["R-3"]["id"] == "P@c"


def test_a_routes_checkpoints_on_the_map_take_their_rounds_states() -> None:
    spots = {"A": {"name": "万松路口", "latitude": 27.78, "longitude": 120.65},
             "B": {"name": "无坐标", "latitude": None, "longitude": None},
             "C": {"name": "<script>x</script>", "latitude": 27.79, "longitude": 120.66}}
    detail = {"checkpoints": [{"checkpoint_id": "A", "first_scan_at": EVENING.isoformat(), "missed": False},
                              {"checkpoint_id": "B", "first_scan_at": None, "missed": True},
                              {"checkpoint_id": "C", "first_scan_at": None, "missed": True}]}
    shown = map_route({"id": "R-1", "name": "一线", "checkpoint_ids": ["A", "B", "C"], "ordered": True}, spots,
                      state="missed", round_row={"id": "P@1", "team_id": "一队"}, detail=detail)
    assert [(p["id"], p["state"]) for p in shown["points"]] == [("A", "done"), ("C", "missed")]  # B has no place
    assert shown["points"][1]["name"] == "<script>x</script>"  # as data; the script sets it as text
    assert checkpoint_state("in_progress", {"first_scan_at": None, "missed": False}) == "in_progress"


def test_form_text_becomes_patrols_json() -> None:
    assert number("") is None and number(" 27.5 ") == 27.5 and number("-3") == -3 and number("北纬27") == "北纬27"
    assert number("1.5", integer=True) == "1.5"
    assert split_ids("CP-1\nCP-2, CP-3、CP-4  CP-5") == ["CP-1", "CP-2", "CP-3", "CP-4", "CP-5"]
    assert checkpoint_body({"id": " CP-1 ", "tag": "t", "name": "万松路口", "latitude": "27.78",
                            "longitude": "120.65", "radius_m": "", "expected_method": "", "area": ""}) == {
        "id": "CP-1", "tag": "t", "name": "万松路口", "latitude": 27.78, "longitude": 120.65}
    assert route_body({"id": "R-1", "name": "一线", "ordered": "1", "checkpoint_ids": "A\nB"}, with_id=True) == {
        "id": "R-1", "name": "一线", "ordered": True, "checkpoint_ids": ["A", "B"]}
    assert route_body({"name": "一线", "checkpoint_ids": ""}, with_id=False)["ordered"] is False
    body = plan_body({"id": "P", "team_id": "一队", "route_id": "R-1", "first_date": "2026-03-02",
                      "window_start": "20:00", "window_end": "02:00", "every_minutes": "120",
                      "rounds_per_night": "", "start_grace_minutes": "15", "checkpoint_grace_minutes": "x"})
    assert body["every_minutes"] == 120 and "rounds_per_night" not in body and "last_date" not in body
    assert body["checkpoint_grace_minutes"] == "x"


def test_the_tile_source_is_a_setting_whose_host_the_content_security_policy_lets_in() -> None:
    settings = ConsoleSettings(map_tiles_url="https://{s}.tiles.intranet.example/{z}/{x}/{y}.png",
                               map_tile_hosts="https://other.example")
    assert settings.tile_origins == ["https://other.example", "https://*.tiles.intranet.example"]
    policy = content_security_policy(settings.tile_origins)
    assert "img-src 'self' data: blob: https://other.example https://*.tiles.intranet.example;" in policy
    assert ConsoleSettings().tile_origins == [] and "img-src 'self' data: blob:;" in content_security_policy([])
    for wrong in ("javascript:alert(1)//{z}{x}{y}", "https://tiles.example/no-placeholders.png",
                  "https://tiles.example;script-src *//{z}/{x}/{y}"):
        with pytest.raises(ValidationError):
            ConsoleSettings(map_tiles_url=wrong)
