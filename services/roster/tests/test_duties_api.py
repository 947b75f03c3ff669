"""A period's duties through the API: a duty's id is its period's own (the next period, or one running at the same
time, may have a `night` too, and their shifts stay apart); its area is a place and its team a team of the directory,
kept as codes and answered with their names; anything else is a 422 naming the field. Organisers and admins only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock

from .conftest import Roster

START = date(2026, 12, 7)  # a Monday
TANGXIA, HANTIAN = "330381102000", "330381102201"  # 塘下镇 and its village 韩田村 in the test city
NIGHT = {"duty_id": "night", "kind": "road-patrol", "title": "塘下镇夜间巡逻", "area": "塘下镇", "route_id": "R-1",
         "team_id": "一队", "start_time": "20:00", "end_time": "02:00", "required_size": 2}


async def _period(r: Roster, period_id: str, starts_on: date, days: int = 2) -> None:
    await r.ok("POST", "/v1/programmes", r.organiser, json={"programme_id": "P-塘下", "name": "塘下镇轮值轮训",
                                                            "level": "township"})
    await r.ok("POST", "/v1/programmes/P-塘下/periods", r.organiser, json={
        "period_id": period_id, "name": f"第{period_id}期", "starts_on": starts_on.isoformat(), "days": days})


@pytest.fixture
async def roster(roster_factory: Callable[..., Awaitable[Roster]]) -> Roster:
    r = await roster_factory(FixedClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)))
    await _period(r, "263", START)
    await _period(r, "264", START)  # at the same time: a city-level and a township-level period may overlap
    return r


async def _shift_ids(r: Roster, period_id: str) -> list[str]:
    page = await r.ok("GET", "/v1/shifts", r.organiser, params={"period_id": period_id, "include_unpublished": True})
    return [s["shift_id"] for s in page["items"]]


async def test_two_periods_have_their_own_night_and_their_shifts_stay_apart(roster: Roster) -> None:
    first = await roster.ok("POST", "/v1/periods/263/duties", roster.organiser, json=NIGHT, expect=201)
    second = await roster.ok("POST", "/v1/periods/264/duties", roster.organiser, json=NIGHT | {"area": HANTIAN},
                             expect=201)
    assert first["shifts"] == second["shifts"] == 2
    assert await _shift_ids(roster, "263") == ["263:night@2026-12-07", "263:night@2026-12-08"]
    assert await _shift_ids(roster, "264") == ["264:night@2026-12-07", "264:night@2026-12-08"]
    # the same duty again is harmless, by name or by code; another duty under an id the period has is a 409
    assert (await roster.ok("POST", "/v1/periods/263/duties", roster.organiser, json=NIGHT, expect=200))["shifts"] == 2
    await roster.ok("POST", "/v1/periods/263/duties", roster.organiser, json=NIGHT | {"area": TANGXIA}, expect=200)
    clash = await roster.client.post("/v1/periods/263/duties", headers=roster.organiser,
                                     json=NIGHT | {"start_time": "21:00"})
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "body.duty_id"
    # each period lists its own duty
    listed = {p: (await roster.ok("GET", f"/v1/periods/{p}", roster.organiser))["duties"] for p in ("263", "264")}
    assert [(d["duty_id"], d["area"]) for d in listed["263"]] == [("night", TANGXIA)]
    assert [(d["duty_id"], d["area"]) for d in listed["264"]] == [("night", HANTIAN)]


async def test_area_and_team_are_kept_as_codes_and_answered_with_names(roster: Roster) -> None:
    added = await roster.ok("POST", "/v1/periods/263/duties", roster.organiser, expect=201,
                            json=NIGHT | {"team_id": "韩田村巡逻一队（测试）"})
    assert (added["area"], added["area_name"], added["team_id"], added["team_name"]) == (
        TANGXIA, "塘下镇", "一队", "韩田村巡逻一队（测试）")
    training = await roster.ok("POST", "/v1/periods/263/duties", roster.organiser, expect=201, json={
        "duty_id": "training", "kind": "training", "title": "白天学习训练", "start_time": "08:30", "end_time": "11:30",
        "required_size": 2})
    assert (training["area"], training["area_name"], training["team_id"], training["team_name"]) == (None,) * 4
    [duty, _] = (await roster.ok("GET", "/v1/periods/263", roster.organiser))["duties"]
    assert (duty["area"], duty["area_name"], duty["team_id"], duty["team_name"]) == (
        TANGXIA, "塘下镇", "一队", "韩田村巡逻一队（测试）")
    page = await roster.ok("GET", "/v1/shifts", roster.organiser, params={"period_id": "263",
                                                                          "include_unpublished": True})
    night = next(s for s in page["items"] if s["duty_id"] == "night")
    assert (night["area"], night["area_name"], night["team_id"], night["team_name"]) == (
        TANGXIA, "塘下镇", "一队", "韩田村巡逻一队（测试）")
    one = await roster.ok("GET", f"/v1/shifts/{night['shift_id']}", roster.organiser)
    assert (one["area"], one["area_name"]) == (TANGXIA, "塘下镇")


REFUSED_DUTIES: list[tuple[dict[str, Any], str, str]] = [
    ({"area": "火星村"}, "body.area", "目录中没有"),  # not in the directory
    ({"area": "一队"}, "body.area", "这里需要"),  # an organisation, not a place
    ({"team_id": "不存在的队"}, "body.team_id", "目录中没有"),
    ({"team_id": TANGXIA}, "body.team_id", "这里需要"),  # a place, not a team
    ({"team_id": "TX"}, "body.team_id", "这里需要"),  # a township government walks no patrol
    ({"duty_id": "d" * 64}, "body.duty_id", "合计过长"),  # its shift ids would not fit patrol's round ids
]


async def test_what_the_directory_does_not_hold_is_a_422_naming_the_field(roster: Roster) -> None:
    # one service for every case (each is refused and writes nothing, so none sees another's trace)
    for change, field, words in REFUSED_DUTIES:
        response = await roster.client.post("/v1/periods/263/duties", headers=roster.organiser, json=NIGHT | change)
        assert response.status_code == 422, (change, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field] and words in response.text, (
            change, response.text)
        assert await _shift_ids(roster, "263") == [], change


async def test_a_shift_id_made_before_duty_ids_were_per_period_is_never_given_twice(roster: Roster) -> None:
    # an old duty "263:night" (ids were global then) holds the shift id period 263's `night` would make
    async with roster.db() as conn:
        await conn.execute("UPDATE periods SET starts_on = $1, ends_on = $1 WHERE period_id = '264'", START)
    await roster.ok("POST", "/v1/periods/264/duties", roster.organiser, json=NIGHT | {"duty_id": "263:night"},
                    expect=201)
    assert await _shift_ids(roster, "264") == ["264:263:night@2026-12-07"]
    async with roster.db() as conn:
        await conn.execute("UPDATE shifts SET shift_id = '263:night@2026-12-07' WHERE period_id = '264'")
    taken = await roster.client.post("/v1/periods/263/duties", headers=roster.organiser, json=NIGHT)
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "body.duty_id"
    assert "263:night@2026-12-07" in taken.text and await _shift_ids(roster, "263") == []


async def test_only_organisers_and_admins_add_duties(roster: Roster) -> None:
    await roster.ok("POST", "/v1/periods/263/duties", roster.admin, json=NIGHT, expect=201)
    for token in (roster.member("M01"), roster.auth(Role.PATROL_DEVICE, "device-1", team="一队"),
                  roster.auth(Role.SUPERVISOR, "督查室", scope=TANGXIA)):
        refused = await roster.client.post("/v1/periods/264/duties", headers=token, json=NIGHT)
        assert refused.status_code == 403, token
    assert (await roster.client.post("/v1/periods/264/duties", json=NIGHT)).status_code == 401
    assert await _shift_ids(roster, "264") == []
