"""A supervisor bound to one area (镇街, the token's scope) lists the flags and hazards of that area only, and asking
for another area is refused with a 403 naming ``area``, as for rounds and compliance. An unscoped supervisor and
organisers see everything. Tried from the outside, with tokens, as someone reaching beyond their area would."""

from __future__ import annotations

from typing import Any

from pingan_shared.auth import Role

from .conftest import Patrol, local
from .test_flags import judged
from .test_rounds_night import AREA, TONIGHT, plan, set_up_route

ELSEWHERE = "安阳街道"


def hazard(client_id: str) -> dict[str, Any]:
    return {"client_hazard_id": client_id, "member_id": "张三", "category": "fire", "place": "塘下镇罗凤街",
            "description": "楼道堆放杂物堵塞消防通道", "reported_at": local(TONIGHT, 20, 40).isoformat()}


async def test_a_scoped_supervisor_sees_the_flags_and_hazards_of_its_area_only(patrol: Patrol) -> None:
    await set_up_route(patrol)
    await plan(patrol, "P-1", "一队")  # 一队 patrols 塘下镇 tonight; 二队 has no round anywhere
    await patrol.advance_to(local(TONIGHT, 20, 45))
    for team in ("一队", "二队"):
        body = {"scans": [{"scan_id": f"{team}-{n}", "member_id": "张三", "team_id": team, "checkpoint_id": "CP-A",
                           "device_time": local(TONIGHT, 20, 30).replace(second=20 * n).isoformat()}
                          for n in (1, 2)]}
        assert (await patrol.ok("POST", "/v1/scans", patrol.device(team), json=body, expect=200))["accepted"] == 2
        await patrol.ok("POST", "/v1/hazards", patrol.device(team), json=hazard(f"h-{team}"), expect=201)
    await judged(patrol, 4)

    here = patrol.auth(Role.SUPERVISOR, "塘下镇督查", scope=AREA)
    there = patrol.auth(Role.SUPERVISOR, "安阳街道督查", scope=ELSEWHERE)

    async def listed(path: str, key: str, headers: dict[str, str], **params: str) -> set[str]:
        page = await patrol.ok("GET", path, headers, params=params, expect=200)
        return {row["team_id"] for row in page[key]}

    assert await listed("/v1/flags", "items", patrol.supervisor) == {"一队", "二队"}
    assert await listed("/v1/flags", "items", patrol.organiser, area=AREA) == {"一队"}
    assert await listed("/v1/flags", "items", here) == {"一队"}
    assert await listed("/v1/flags", "items", here, area=AREA) == {"一队"}
    assert await listed("/v1/flags", "items", there) == set()
    assert await listed("/v1/hazards", "items", patrol.supervisor) == {"一队", "二队"}
    assert await listed("/v1/hazards", "items", here) == {"一队"}
    assert await listed("/v1/hazards", "items", there) == set()
    # another team's id does not widen the scope either
    assert await listed("/v1/hazards", "items", here, team_id="二队") == set()

    for path in ("/v1/flags", "/v1/hazards"):
        refused = await patrol.client.get(path, headers=there, params={"area": AREA})
        assert refused.status_code == 403, refused.text
        assert refused.json()["errors"][0]["field"] == "area"
        # a device's or a member's token lists nothing at all
        assert (await patrol.client.get(path, headers=patrol.device("一队"))).status_code == 403


async def test_a_township_scope_covers_its_villages_rounds_and_a_village_scope_only_its_own(patrol: Patrol) -> None:
    # a route in 韩田村 (a village of 塘下镇, by its code) and one in 塘下镇 itself; a plan on each
    await set_up_route(patrol)
    await patrol.ok("POST", "/v1/routes", patrol.organiser, json={
        "id": "R-HT", "name": "韩田村巡逻线", "area": "330381102201", "checkpoint_ids": ["CP-A"]}, expect=201)
    await plan(patrol, "P-1", "一队")
    await plan(patrol, "P-2", "二队", route_id="R-HT")
    township = patrol.auth(Role.SUPERVISOR, "塘下镇督查", scope="330381102000")  # the code: names and codes alike
    village = patrol.auth(Role.SUPERVISOR, "韩田村督查", scope="韩田村")

    async def teams(headers: dict[str, str], **params: str) -> set[str]:
        page = await patrol.ok("GET", "/v1/rounds", headers, params=params, expect=200)
        return {r["team_id"] for r in page["items"]}

    assert await teams(township) == {"一队", "二队"}
    assert await teams(township, area="韩田村") == {"二队"}  # a place within the scope, asked for
    assert await teams(village) == {"二队"}
    refused = await patrol.client.get("/v1/rounds", headers=village, params={"area": AREA})
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "area"
    assert await teams(patrol.organiser, area=AREA) == {"一队", "二队"}  # an area filter covers what lies beneath

    # the rounds keep their areas' codes (塘下镇 was given by name); a round's page follows the same scope
    listed = await patrol.ok("GET", "/v1/rounds", patrol.organiser, expect=200)
    by_team = {r["team_id"]: r for r in listed["items"]}
    assert {t: r["area"] for t, r in by_team.items()} == {"一队": "330381102000", "二队": "330381102201"}
    village_round, township_round = by_team["二队"]["id"], by_team["一队"]["id"]
    for who in (township, village, patrol.auth(Role.SUPERVISOR, "塘下镇督查", scope=AREA)):
        assert (await patrol.client.get(f"/v1/rounds/{village_round}", headers=who)).status_code == 200
    assert (await patrol.client.get(f"/v1/rounds/{township_round}", headers=township)).status_code == 200
    assert (await patrol.client.get(f"/v1/rounds/{township_round}", headers=village)).status_code == 404
