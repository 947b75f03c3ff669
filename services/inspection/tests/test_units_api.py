"""/v1/units over the real database: registration, idempotence, conflicts, CSV import with per-row answers."""

from __future__ import annotations

from pingan_shared.auth import Role

from .conftest import Inspection

ANYANG = {"id": "U-AY", "name": "安阳街道", "kind": "township", "contact": "张主任 13800000001"}
EMERGENCY = {"id": "D-YJ", "name": "市应急管理局", "kind": "department", "contact": "李科长"}


async def test_register_is_idempotent_and_conflicts_name_the_field(inspection: Inspection) -> None:
    created = await inspection.client.post("/v1/units", json=ANYANG, headers=inspection.inspector)
    assert created.status_code == 201, created.text
    again = await inspection.client.post("/v1/units", json=ANYANG, headers=inspection.admin)
    assert again.status_code == 200
    assert again.json() == created.json()
    other = await inspection.client.post("/v1/units", json={**ANYANG, "name": "玉海街道"}, headers=inspection.inspector)
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "id"
    orphan = await inspection.client.post(
        "/v1/units", json={**EMERGENCY, "id": "D-X", "supervising_unit_id": "NOPE"}, headers=inspection.inspector)
    assert orphan.status_code == 422
    assert orphan.json()["errors"][0]["field"] == "supervising_unit_id"
    assert (await inspection.client.post("/v1/units", json={**ANYANG, "kind": "village"},
                                         headers=inspection.inspector)).status_code == 422
    for who in (inspection.supervisor, inspection.unit("U-AY"), inspection.member()):
        assert (await inspection.client.post("/v1/units", json=EMERGENCY, headers=who)).status_code == 403

    # readable by every role, paged by id
    await inspection.ok("POST", "/v1/units", inspection.inspector, json={**EMERGENCY, "supervising_unit_id": "U-AY"})
    for who in (inspection.unit("U-AY"), inspection.supervisor, inspection.member()):
        page = await inspection.ok("GET", "/v1/units", who, expect=200, params={"limit": 1})
        assert [u["id"] for u in page["items"]] == ["D-YJ"] and page["next_after"] == "D-YJ"
        rest = await inspection.ok("GET", "/v1/units", who, expect=200, params={"limit": 1, "after": "D-YJ"})
        assert [u["id"] for u in rest["items"]] == ["U-AY"]
    one = await inspection.ok("GET", "/v1/units/D-YJ", inspection.unit("U-AY"), expect=200)
    assert one == {**EMERGENCY, "supervising_unit_id": "U-AY"}
    assert (await inspection.client.get("/v1/units/none", headers=inspection.unit("U-AY"))).status_code == 404
    assert (await inspection.client.get("/v1/units")).status_code == 401


CSV = (
    "\ufeffid,name,kind,contact,supervising_unit_id\r\n"
    "D-ZF,市政法委,department,王,\r\n"            # 2 created
    "U-YH,玉海街道,township,赵,D-ZF\r\n"           # 3 created, supervisor from line 2
    "U-YH,玉海街道,township,赵,D-ZF\r\n"           # 4 unchanged (again)
    "U-YH,玉海街道,township,钱,D-ZF\r\n"           # 5 rejected: same id, other content
    "U-TY,塘下镇,village,孙,\r\n"                  # 6 rejected: kind
    "U-FY,飞云街道,township,周,U-NOPE\r\n"         # 7 rejected: unknown supervisor
    ",无编号,township,吴,\r\n"                    # 8 rejected: id
    "\r\n"                                       # blank: skipped
    "U-XS,莘塍街道,township,郑,D-ZF,extra\r\n"     # 10 rejected: extra field
    "U-AY2,安阳街道二,township,,\r\n"              # 11 created, no contact
)


async def test_csv_import_answers_row_by_row(inspection: Inspection) -> None:
    response = await inspection.client.post("/v1/units/import", content=CSV.encode("utf-8"),
                                            headers={**inspection.inspector, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["unchanged"], body["rejected"]) == (3, 1, 5)
    by_line = {r["line"]: r for r in body["rows"]}
    assert {line: r["status"] for line, r in by_line.items()} == {
        2: "created", 3: "created", 4: "unchanged", 5: "rejected", 6: "rejected", 7: "rejected", 8: "rejected",
        10: "rejected", 11: "created"}
    assert by_line[5]["errors"][0]["field"] == "id"
    assert by_line[6]["errors"][0]["field"] == "kind"
    assert by_line[7]["errors"][0]["field"] == "supervising_unit_id"
    assert by_line[8]["errors"][0]["field"] == "id"
    assert by_line[10]["errors"][0]["field"] == "(row)"
    stored = await inspection.ok("GET", "/v1/units/U-YH", inspection.supervisor, expect=200)
    assert stored["supervising_unit_id"] == "D-ZF" and stored["contact"] == "赵"

    # importing the same file again changes nothing
    again = (await inspection.client.post("/v1/units/import", content=CSV.encode("utf-8"),
                                          headers={**inspection.inspector, "Content-Type": "text/csv"})).json()
    assert (again["created"], again["unchanged"], again["rejected"]) == (0, 4, 5)


async def test_not_csv_is_400(inspection: Inspection) -> None:
    headers = {**inspection.inspector, "Content-Type": "text/csv"}
    for body in (b"", b"\xff\xfe\x00garbage", "名称,类型\r\n安阳,township\r\n".encode()):
        response = await inspection.client.post("/v1/units/import", content=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["detail"]
    as_json = await inspection.client.post("/v1/units/import", json=[ANYANG], headers=inspection.inspector)
    assert as_json.status_code == 400
    refused = await inspection.client.post("/v1/units/import", content=CSV.encode(),
                                           headers={**inspection.auth(Role.UNIT, "x", unit="U-AY"),
                                                    "Content-Type": "text/csv"})
    assert refused.status_code == 403
