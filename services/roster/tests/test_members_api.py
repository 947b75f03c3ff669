"""Members and organisations over HTTP: registration, the CSV import with bad rows answered row by row, paging, and
who may read whom (a member reads only itself; a patrol device nothing)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_stack.testing import SAMPLE_TIME

from .conftest import Roster

ORG = {"org_id": "韩田村巡逻队", "name": "塘下镇韩田村巡逻队", "kind": "village-patrol-team", "area": "塘下镇"}
TANGXIA, HANTIAN = "330381102000", "330381102201"  # 塘下镇 and its 韩田村 in the test city


async def test_members_registered_one_by_one_and_read_back_with_paging(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(SAMPLE_TIME))
    assert (await r.client.post("/v1/organisations", json=ORG, headers=r.organiser)).status_code == 201
    assert (await r.client.post("/v1/organisations", json=ORG, headers=r.organiser)).status_code == 200
    clash = await r.client.post("/v1/organisations", json=ORG | {"name": "别的"}, headers=r.organiser)
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "org_id"
    renamed = await r.ok("PUT", f"/v1/organisations/{ORG['org_id']}", r.organiser, json=ORG | {"area": "韩田村"})
    assert renamed["area"] == HANTIAN  # a place of the directory, by name: kept by its code
    assert (await r.ok("GET", f"/v1/organisations/{ORG['org_id']}", r.organiser))["area"] == HANTIAN
    assert (await r.client.get("/v1/organisations/没有", headers=r.organiser)).status_code == 404
    as_member = await r.client.put(f"/v1/organisations/{ORG['org_id']}", headers=r.member("M0"), json=ORG)
    assert as_member.status_code == 403
    for i in range(5):
        body = {"member_id": f"M{i}", "name": f"队员{i}", "org_id": ORG["org_id"], "role": "patrol-member",
                "skills": ["急救"], "team_id": "一队", "app_member_id": f"队员{i}",
                "unavailability": [{"from_day": "2026-12-01", "days": 3, "reason": "出差"}]}
        assert (await r.client.post("/v1/members", json=body, headers=r.organiser)).status_code == 201
    again = await r.client.post("/v1/members", json=body, headers=r.organiser)
    assert again.status_code == 200
    other_org = await r.client.post("/v1/members", json=body | {"member_id": "M9", "org_id": "没有"},
                                    headers=r.organiser)
    assert other_org.status_code == 409 and other_org.json()["errors"][0]["field"] == "body.org_id"
    taken = await r.client.post("/v1/members", json=body | {"member_id": "M9"}, headers=r.organiser)
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "body.app_member_id"
    first = await r.ok("GET", "/v1/members", r.organiser, params={"limit": 3})
    assert [m["member_id"] for m in first["items"]] == ["M0", "M1", "M2"]
    rest = await r.ok("GET", "/v1/members", r.organiser, params={"limit": 3, "after": first["next_after"]})
    assert [m["member_id"] for m in rest["items"]] == ["M3", "M4"] and rest["next_after"] is None
    assert rest["items"][0]["unavailability"] == [{"from_day": "2026-12-01", "days": 3, "to_day": "2026-12-03",
                                                     "reason": "出差"}]
    by_name = await r.ok("GET", "/v1/members", r.organiser, params={"name": "员3"})
    assert [m["member_id"] for m in by_name["items"]] == ["M3"]
    by_id = await r.ok("GET", "/v1/members", r.organiser, params={"name": "m1", "org_id": ORG["org_id"]})
    assert [m["member_id"] for m in by_id["items"]] == ["M1"]  # the id too, in any case
    assert (await r.ok("GET", "/v1/members", r.organiser, params={"name": "%"}))["items"] == []
    changed = await r.client.put("/v1/members/M1", json=body | {"member_id": "M1", "app_member_id": "队员1",
                                                                "role": "activist"}, headers=r.organiser)
    assert changed.status_code == 200
    assert (await r.ok("GET", "/v1/members/M1", r.member("M1")))["role"] == "activist"
    assert (await r.client.delete("/v1/members/M2", headers=r.organiser)).status_code == 204
    active = await r.ok("GET", "/v1/members", r.organiser, params={"active": "true"})
    assert "M2" not in [m["member_id"] for m in active["items"]]


async def test_member_and_device_tokens_stay_in_their_lane(roster_factory: Callable[..., Awaitable[Roster]]) -> None:
    r = await roster_factory(FixedClock(SAMPLE_TIME))
    await r.ok("POST", "/v1/organisations", r.organiser, json=ORG)
    for mid in ("M1", "M2"):
        await r.ok("POST", "/v1/members", r.organiser, json={"member_id": mid, "name": mid, "org_id": ORG["org_id"],
                                                             "role": "guard"})
    assert (await r.client.get("/v1/members/M1", headers=r.member("M1"))).status_code == 200
    # another member's record reads as absent, the list and writes are refused
    assert (await r.client.get("/v1/members/M2", headers=r.member("M1"))).status_code == 404
    assert (await r.client.get("/v1/members", headers=r.member("M1"))).status_code == 403
    self_promote = await r.client.put("/v1/members/M1", headers=r.member("M1"), json={
        "member_id": "M1", "name": "M1", "org_id": ORG["org_id"], "role": "police"})
    assert self_promote.status_code == 403
    device = r.auth(Role.PATROL_DEVICE, "device-1", team="一队")
    assert (await r.client.get("/v1/members/M1", headers=device)).status_code == 403
    assert (await r.client.post("/v1/member-imports", headers=device | {"content-type": "text/csv"},
                                content=b"member_id,name,org_id,role\n")).status_code == 403
    assert (await r.client.get("/v1/members/M1")).status_code == 401


async def test_csv_import_answers_each_row(roster_factory: Callable[..., Awaitable[Roster]]) -> None:
    r = await roster_factory(FixedClock(SAMPLE_TIME))
    await r.ok("POST", "/v1/organisations", r.organiser, json=ORG)
    csv = ("\ufeffmember_id,name,org_id,role,skills,phone,team_id,app_member_id\n"
           "A1,张三,韩田村巡逻队,patrol-member,急救;驾驶,13800000001,一队,张三\n"
           "A2,李四,韩田村巡逻队,sheriff,,,,\n"  # unknown role
           "A3,,韩田村巡逻队,guard,,,,\n"  # no name
           "A4,王五,没有的组织,guard,,,,\n"  # unknown organisation
           "A5,赵六,韩田村巡逻队,activist,,,一队,张三\n"  # the team's app id is A1's
           "A6,钱七,韩田村巡逻队,militia,,,,,extra\n"  # more cells than the header
           "\n"
           "A1,张三,韩田村巡逻队,patrol-member,急救;驾驶,13800000001,一队,张三\n")  # the same again
    report = await r.ok("POST", "/v1/member-imports", r.organiser | {"content-type": "text/csv"},
                        content=csv.encode())
    assert (report["created"], report["unchanged"], report["rejected"]) == (1, 1, 5)
    by_line = {row["line"]: row for row in report["rows"]}
    assert by_line[2]["status"] == "created"
    assert by_line[3]["errors"][0]["field"] == "role"
    assert by_line[4]["errors"][0]["field"] == "name"
    assert by_line[5]["errors"][0]["field"] == "org_id"
    assert by_line[6]["errors"][0]["field"] == "app_member_id"
    assert by_line[7]["errors"][0]["field"] == "(row)"
    assert by_line[9]["status"] == "unchanged"
    stored = await r.ok("GET", "/v1/members/A1", r.organiser)
    assert stored["skills"] == ["急救", "驾驶"] and stored["team_id"] == "一队"
    listed = await r.ok("GET", "/v1/members", r.organiser)
    assert [m["member_id"] for m in listed["items"]] == ["A1"]
    not_csv = await r.client.post("/v1/member-imports", headers=r.organiser | {"content-type": "text/csv"},
                                  content=b"id,name\nx,y\n")
    assert not_csv.status_code == 400 and not_csv.json()["errors"][0]["field"] == "(body)"
    wrong_type = await r.client.post("/v1/member-imports", headers=r.organiser, json={"a": 1})
    assert wrong_type.status_code == 400 and wrong_type.json()["errors"][0]["field"] == "Content-Type"


async def test_organisations_sit_in_places_and_members_may_name_the_directorys_teams(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(SAMPLE_TIME))
    created = await r.client.post("/v1/organisations", json=ORG, headers=r.organiser)
    assert created.status_code == 201 and created.json()["area"] == TANGXIA, created.text
    by_code = await r.client.post("/v1/organisations", json=ORG | {"area": TANGXIA}, headers=r.organiser)
    assert by_code.status_code == 200, by_code.text  # the same organisation, its area by code this time
    for method, path in (("POST", "/v1/organisations"), ("PUT", f"/v1/organisations/{ORG['org_id']}")):
        nowhere = await r.client.request(method, path, json=ORG | {"area": "没有这个镇"}, headers=r.organiser)
        assert nowhere.status_code == 422 and nowhere.json()["errors"][0]["field"] == "body.area", nowhere.text
        assert nowhere.json()["detail"].startswith("目录中没有"), nowhere.text
    # a member of the directory's 塘下一队, which roster never registered itself: registered from the directory
    member = {"member_id": "T1", "name": "队员T1", "org_id": "塘下一队", "role": "patrol-member", "team_id": "塘下一队"}
    assert (await r.client.post("/v1/members", json=member, headers=r.organiser)).status_code == 201
    team = await r.ok("GET", "/v1/organisations/塘下一队", r.organiser)
    assert team == {"org_id": "塘下一队", "name": "韩田村巡逻一队", "kind": "village-patrol-team", "area": HANTIAN}
    # a township government of the directory is no organisation whose people stand duty; nor is a place
    for org_id in ("TX", "塘下镇", "没有"):
        refused = await r.client.post("/v1/members", json=member | {"member_id": f"T-{org_id}", "org_id": org_id},
                                      headers=r.organiser)
        assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "body.org_id", refused.text
