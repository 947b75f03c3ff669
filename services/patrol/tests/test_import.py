"""Bulk import of checkpoints and routes over HTTP (JSON and CSV), each row answered on its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pingan_shared.clock import FixedClock

from .conftest import Patrol

TANGXIA = "330381102000"  # 塘下镇's directory code

CHECKPOINTS_CSV = """id,tag,name,latitude,longitude,radius_m,area
CP-1,nfc-1,塘下镇罗凤街口,27.83,120.62,40,塘下镇
CP-2,nfc-2,塘下镇菜市场,,,,塘下镇
CP-3,nfc-3,塘下镇中心小学,北纬27度,120.6,30,塘下镇
CP-4,nfc-4,多余的字段,27.8,120.6,30,塘下镇,extra
"""

ROUTES_CSV = """id,name,area,ordered,checkpoint_ids
R-1,塘下镇夜巡一线,塘下镇,是,CP-1|CP-2
R-2,塘下镇夜巡二线,塘下镇,否,CP-2|CP-404
"""


async def post_csv(patrol: Patrol, text: str) -> tuple[int, dict]:
    response = await patrol.client.post("/v1/import", content=text.encode(), headers={
        **patrol.organiser, "Content-Type": "text/csv; charset=utf-8"})
    return response.status_code, response.json()


async def test_csv_rows_are_answered_one_by_one_and_bad_rows_named(patrol: Patrol) -> None:
    status, body = await post_csv(patrol, CHECKPOINTS_CSV)
    assert status == 422
    assert [(r["id"], r["status"]) for r in body["rows"]] == [
        ("CP-1", "created"), ("CP-2", "created"), ("CP-3", "rejected"), (None, "rejected")]
    fields = [e["field"] for e in body["errors"]]
    assert fields == ["line 4: latitude", "line 5: (row)"], body["errors"]
    assert "2 of 4" in body["detail"]

    status, body = await post_csv(patrol, ROUTES_CSV)
    assert status == 422
    assert [(r["id"], r["status"]) for r in body["rows"]] == [("R-1", "created"), ("R-2", "rejected")]
    assert "CP-404" in body["errors"][0]["reason"] and body["errors"][0]["field"] == "line 3: checkpoint_ids"
    route = await patrol.ok("GET", "/v1/routes/R-1", patrol.organiser, expect=200)
    assert (route["ordered"], route["checkpoint_ids"], route["area"], route["area_name"]) == (
        True, ["CP-1", "CP-2"], TANGXIA, "塘下镇")
    async with patrol.db() as conn:  # the area's name is stored as its code
        assert await conn.fetchval("SELECT area FROM checkpoints WHERE id = 'CP-2'") == TANGXIA

    # the same file again changes nothing; an edited route gets version 2 (published again)
    status, body = await post_csv(patrol, ROUTES_CSV.replace("CP-404", "CP-1"))
    assert status == 200 and [r["status"] for r in body["rows"]] == ["unchanged", "created"]
    status, body = await post_csv(patrol, "id,name,checkpoint_ids\nR-1,塘下镇夜巡一线（改）,CP-2|CP-1\n")
    assert status == 200 and body["rows"][0] | {"where": None} == {
        "where": None, "id": "R-1", "status": "updated", "version": 2}
    published = [(e["payload"]["route_id"], e["payload"]["version"]) for e in await patrol.outbox(
        "patrol.route-published")]
    assert published == [("R-1", 1), ("R-2", 1), ("R-1", 2)]


async def test_json_import_and_whole_document_refusals(patrol: Patrol) -> None:
    document = {
        "checkpoints": [{"id": "CP-1", "tag": "nfc-1", "name": "罗凤街口", "area": "塘下镇"},
                        {"id": "CP-2", "tag": "nfc-2", "name": "菜市场", "latitude": 27.8}],
        "routes": [{"id": "R-1", "name": "一线", "checkpoint_ids": ["CP-1"]}],
    }
    response = await patrol.client.post("/v1/import", json=document, headers=patrol.organiser)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["checkpoints[1].(row)"], errors
    assert "latitude and longitude go together" in errors[0]["reason"]
    assert [r["status"] for r in response.json()["rows"]] == ["created", "rejected", "created"]

    unknown_header = await patrol.client.post("/v1/import", content=b"a,b\n1,2\n", headers={
        **patrol.organiser, "Content-Type": "text/csv"})
    assert unknown_header.status_code == 400 and unknown_header.json()["errors"][0]["field"] == "(body)"
    not_utf8 = await patrol.client.post("/v1/import", content="id,tag,name\n1,2,塘下".encode("gbk"), headers={
        **patrol.organiser, "Content-Type": "text/csv"})
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.json()["detail"]
    wrong_shape = await patrol.client.post("/v1/import", json=[1, 2], headers=patrol.organiser)
    assert wrong_shape.status_code == 400
    device = await patrol.client.post("/v1/import", json=document, headers=patrol.device("一队"))
    assert device.status_code == 403


async def test_more_rows_than_the_limit_is_a_413_and_a_bad_header_a_400(
    patrol_factory: Callable[..., Awaitable[Patrol]], clock: FixedClock,
) -> None:
    patrol = await patrol_factory(clock, max_import_rows=3)
    status, body = await post_csv(patrol, CHECKPOINTS_CSV)  # four rows
    assert (status, body["errors"][0]["field"]) == (413, "(body)"), body
    assert "3" in body["detail"]
    too_many = {"checkpoints": [{"id": f"CP-{n}", "tag": f"t-{n}", "name": f"点{n}"} for n in range(4)]}
    response = await patrol.client.post("/v1/import", json=too_many, headers=patrol.organiser)
    assert response.status_code == 413, response.text
    # a header of neither kind is a 400, whatever its length
    status, body = await post_csv(patrol, "编号,名称\nCP-1,塘下镇\n")
    assert (status, body["errors"][0]["field"]) == (400, "(body)"), body
    assert "表头" in body["detail"]
    async with patrol.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM checkpoints") == 0


async def test_an_area_the_directory_does_not_hold_rejects_its_row_naming_the_column(patrol: Patrol) -> None:
    status, body = await post_csv(patrol, "id,tag,name,area\nCP-1,nfc-1,罗凤街口,塘下镇\nCP-2,nfc-2,火星基地,火星\n")
    assert status == 422
    assert [(r["id"], r["status"]) for r in body["rows"]] == [("CP-1", "created"), ("CP-2", "rejected")]
    assert [e["field"] for e in body["errors"]] == ["line 3: area"], body["errors"]
    assert "火星" in body["errors"][0]["reason"]
    status, body = await post_csv(patrol, "id,name,checkpoint_ids,area\nR-1,一线,CP-1,火星\nR-2,二线,CP-1,塘下镇\n")
    assert status == 422 and [e["field"] for e in body["errors"]] == ["line 2: area"], body
    assert [r["status"] for r in body["rows"]] == ["rejected", "created"]
    response = await patrol.client.post("/v1/import", headers=patrol.organiser, json={
        "checkpoints": [{"id": "CP-3", "tag": "nfc-3", "name": "某处", "area": "火星"}]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "checkpoints[0].area"
    async with patrol.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM checkpoints") == 1


async def test_a_row_again_with_its_area_by_code_instead_of_name_is_unchanged(patrol: Patrol) -> None:
    status, _ = await post_csv(patrol, "id,tag,name,area\nCP-1,nfc-1,罗凤街口,塘下镇\n")
    assert status == 200
    status, body = await post_csv(patrol, f"id,tag,name,area\nCP-1,nfc-1,罗凤街口,{TANGXIA}\n")
    assert (status, body["rows"][0]["status"]) == (200, "unchanged"), body
    status, body = await post_csv(patrol, f"id,name,checkpoint_ids,area\nR-1,一线,CP-1,{TANGXIA}\n")
    assert status == 200
    status, body = await post_csv(patrol, "id,name,checkpoint_ids,area\nR-1,一线,CP-1,塘下镇\n")
    assert (status, body["rows"][0]["status"], body["rows"][0]["version"]) == (200, "unchanged", 1), body
    # elsewhere is another checkpoint under a taken id
    status, body = await post_csv(patrol, "id,tag,name,area\nCP-1,nfc-1,罗凤街口,安阳街道\n")
    assert status == 422 and body["errors"][0]["field"] == "line 2: id", body


async def test_a_checkpoint_stored_by_name_before_the_directory_is_the_same_by_code_and_then_kept_by_it(
    patrol: Patrol,
) -> None:
    async with patrol.db() as conn:  # an old row: its area as it was typed, before the directory knew it
        await conn.execute("INSERT INTO checkpoints (id, tag, name, radius_m, area) "
                           "VALUES ('CP-OLD', 'nfc-old', '老检查点', 50, '塘下镇')")
    status, body = await post_csv(patrol, f"id,tag,name,area\nCP-OLD,nfc-old,老检查点,{TANGXIA}\n")
    assert (status, body["rows"][0]["status"]) == (200, "unchanged"), body
    async with patrol.db() as conn:
        assert await conn.fetchval("SELECT area FROM checkpoints WHERE id = 'CP-OLD'") == TANGXIA
