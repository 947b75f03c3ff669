"""The directory of places and organisations, kept by roster: a CSV file defined row by row (a village before its
township is fine, a bad row never sinks the file), one entry at a time, read back with its lineage, and published
once per change with the entry's per-code sequence (a file loaded again publishes nothing)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pingan_shared.clock import FixedClock
from pingan_stack.sample_directory import sample_csv
from pingan_stack.testing import SAMPLE_TIME

from .conftest import Roster

CSV = {"Content-Type": "text/csv"}
SAMPLE = sample_csv()


async def test_the_sample_city_loads_row_by_row_and_is_published_once(
    empty_directory_roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await empty_directory_roster_factory(FixedClock(SAMPLE_TIME))
    report = await r.ok("POST", "/v1/directory/imports", r.organiser | CSV, content=SAMPLE)
    rows = SAMPLE.decode().strip().count("\n")
    assert report["created"] == rows and report["rejected"] == 0, report
    assert [a["line"] for a in report["rows"]] == list(range(2, rows + 2))  # the file's order, not the writing's
    again = await r.ok("POST", "/v1/directory/imports", r.organiser | CSV, content=SAMPLE)
    assert again["unchanged"] == rows and again["created"] == again["updated"] == 0
    published = await r.outbox("directory.entry-defined")
    assert len(published) == rows and {e["sequence"] for e in published} == {1}
    assert {e["key"] for e in published} == {e["payload"]["code"] for e in published}

    township = await r.ok("GET", "/v1/directory/entries/330381102000", r.member("M1"))
    assert township["name"] == "塘下镇" and township["kind"] == "township" and township["township"] == "330381102000"
    assert township["lineage"] == [{"code": "330381", "kind": "city", "name": "瑞安市"}]
    team = await r.ok("GET", "/v1/directory/entries/塘下一队", r.organiser)
    assert [e["name"] for e in team["lineage"]] == ["韩田村", "塘下镇", "瑞安市"] and team["township"] == "330381102000"
    beneath = await r.ok("GET", "/v1/directory/entries", r.organiser, params={"under": "330381102000", "limit": 100})
    codes = {e["code"] for e in beneath["items"]}
    assert {"330381102000", "330381102201", "TX-G01", "TX", "塘下一队", "PS-TX"} <= codes
    assert not codes & {"330381001000", "AY", "安阳一队", "GA"}  # the next township's, and the city's departments
    children = await r.ok("GET", "/v1/directory/entries", r.organiser, params={"parent": "330381102000"})
    assert {e["parent"] for e in children["items"]} == {"330381102000"} and "330381102201" in {
        e["code"] for e in children["items"]} and not {e["code"] for e in children["items"]} & {"TX-G01", "塘下一队"}
    teams = await r.ok("GET", "/v1/directory/entries", r.organiser, params={"kind": "patrol-team", "limit": 2})
    assert len(teams["items"]) == 2 and teams["next_after"] is not None
    assert (await r.client.get("/v1/directory/entries/没有", headers=r.organiser)).status_code == 404


async def test_bad_rows_are_answered_on_their_own_and_changes_are_published(
    empty_directory_roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await empty_directory_roster_factory(FixedClock(SAMPLE_TIME))
    body = ("code,kind,name,parent\n"
            "V1,village,新村,T1\n"  # before its township: written after it
            "T1,township,新镇,C1\n"
            "C1,city,新市,\n"
            "V2,village,孤村,NOPE\n"  # unknown parent
            "V3,village,错层村,V1\n"  # a village in a village
            "O1,patrol-team,新村巡逻队,V1\n"
            "O2,patrol-team,挂组织队,O1\n"  # an organisation is no place
            "X1,planet,火星,C1\n"  # no such kind
            "T2,township,,C1\n"  # no name
            "T3,township,缺上级,\n")  # no parent below the city
    report = await r.ok("POST", "/v1/directory/imports", r.organiser | CSV, content=body.encode())
    status = {a["code"]: a["status"] for a in report["rows"]}
    assert status == {"V1": "created", "T1": "created", "C1": "created", "V2": "rejected", "V3": "rejected",
                      "O1": "created", "O2": "rejected", "X1": "rejected", "T2": "rejected", "T3": "rejected"}
    reasons = {a["code"]: a["errors"][0] for a in report["rows"] if a["status"] == "rejected"}
    assert reasons["V2"]["field"] == "parent" and "NOPE" in reasons["V2"]["reason"]
    assert reasons["O2"]["field"] == "parent" and "组织" in reasons["O2"]["reason"]
    assert reasons["X1"]["field"] == "kind" and reasons["T2"]["field"] == "name"

    renamed = await r.client.put("/v1/directory/entries/V1", headers=r.organiser,
                                 json={"code": "V1", "kind": "village", "name": "新村社区", "parent": "T1",
                                       "latitude": 27.8, "longitude": 120.6})
    assert renamed.status_code == 200 and renamed.json()["status"] == "updated"
    same = await r.client.put("/v1/directory/entries/V1", headers=r.organiser,
                              json={"code": "V1", "kind": "village", "name": "新村社区", "parent": "T1",
                                    "latitude": 27.8, "longitude": 120.6})
    assert same.status_code == 200 and same.json()["status"] == "unchanged"
    kind_change = await r.client.put("/v1/directory/entries/V1", headers=r.organiser,
                                     json={"code": "V1", "kind": "grid", "name": "新村社区", "parent": "T1"})
    assert kind_change.status_code == 422 and kind_change.json()["errors"][0]["field"] == "kind"
    other_path = await r.client.put("/v1/directory/entries/V9", headers=r.organiser,
                                    json={"code": "V1", "kind": "village", "name": "x", "parent": "T1"})
    assert other_path.status_code == 409
    as_member = await r.client.put("/v1/directory/entries/V1", headers=r.member("M1"),
                                   json={"code": "V1", "kind": "village", "name": "x", "parent": "T1"})
    assert as_member.status_code == 403
    bad_geometry = await r.client.put("/v1/directory/entries/V1", headers=r.organiser,
                                      json={"code": "V1", "kind": "village", "name": "x", "parent": "T1",
                                            "geometry": {"coordinates": []}})
    assert bad_geometry.status_code == 422 and bad_geometry.json()["errors"][0]["field"].endswith("geometry")
    versions = [e["sequence"] for e in await r.outbox("directory.entry-defined") if e["key"] == "V1"]
    assert versions == [1, 2]
