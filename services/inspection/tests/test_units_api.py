"""/v1/units over the real database: registration, idempotence, conflicts, CSV import with per-row answers; a unit is
an organisation of the directory (the test city: U-AY, D-YJ … in test-units.csv) and is answered with its place."""

from __future__ import annotations

from pingan_shared.auth import Role

from .conftest import Inspection

ANYANG = {"id": "U-AY", "name": "安阳街道", "kind": "township", "contact": "张主任 13800000001"}
EMERGENCY = {"id": "D-YJ", "name": "市应急管理局", "kind": "department", "contact": "李科长"}
ANYANG_PLACE = {"place": "330381001000", "place_name": "安阳街道"}
CITY = {"place": "330381", "place_name": "瑞安市"}


async def test_register_is_idempotent_and_conflicts_name_the_field(inspection: Inspection) -> None:
    created = await inspection.client.post("/v1/units", json=ANYANG, headers=inspection.inspector)
    assert created.status_code == 201, created.text
    assert created.json() == {**ANYANG, "supervising_unit_id": None, **ANYANG_PLACE}
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
    assert one == {**EMERGENCY, "supervising_unit_id": "U-AY", **CITY}
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


async def test_a_unit_is_a_township_government_or_a_department_of_the_directory(inspection: Inspection) -> None:
    async def refused(body: dict[str, str]) -> str:
        response = await inspection.client.post("/v1/units", json=body, headers=inspection.inspector)
        assert response.status_code == 422, response.text
        error = response.json()["errors"][0]
        assert error["reason"] and not error["reason"].isascii(), error  # Chinese first
        return str(error["field"])

    assert await refused({**ANYANG, "id": "U-NOWHERE"}) == "body.id"           # the directory holds no such code
    assert await refused({**ANYANG, "id": "PS-AY"}) == "body.id"               # a police station, not a unit
    assert await refused({**ANYANG, "id": "330381001000"}) == "body.id"        # a place, not an organisation
    assert await refused({**EMERGENCY, "id": "U-AY"}) == "body.kind"           # a government is a township unit
    assert (await inspection.client.get("/v1/units", headers=inspection.admin)).json()["items"] == []

    # by the organisation's unique name: kept and answered under its code, with the place it serves
    by_name = await inspection.ok("POST", "/v1/units", inspection.inspector, expect=201,
                                  json={"id": "塘下镇人民政府", "name": "塘下镇", "kind": "township"})
    assert by_name == {"id": "TX", "name": "塘下镇", "kind": "township", "contact": "", "supervising_unit_id": None,
                       "place": "330381102000", "place_name": "塘下镇"}
    assert (await inspection.ok("POST", "/v1/units", inspection.inspector, expect=200,
                                json={"id": "TX", "name": "塘下镇", "kind": "township"}))["id"] == "TX"


async def test_units_from_before_the_directory_rule_keep_working_with_no_place(inspection: Inspection) -> None:
    async with inspection.db() as conn:
        await conn.execute("INSERT INTO units (id, name, kind, contact) VALUES ('OLD-1', '旧单位', 'township', '')")
    old = {"id": "OLD-1", "name": "旧单位", "kind": "township", "contact": "", "supervising_unit_id": None}
    assert await inspection.ok("GET", "/v1/units/OLD-1", inspection.supervisor, expect=200) == {
        **old, "place": None, "place_name": None}
    assert await inspection.ok("POST", "/v1/units", inspection.inspector, expect=200, json=old) == {
        **old, "place": None, "place_name": None}
    await inspection.ok("POST", "/v1/units", inspection.inspector, expect=201,
                        json={**ANYANG, "supervising_unit_id": "OLD-1"})
    listed = await inspection.ok("GET", "/v1/units", inspection.member(), expect=200)
    assert [(u["id"], u["place"]) for u in listed["items"]] == [("OLD-1", None), ("U-AY", "330381001000")]
    opened = await inspection.client.post("/v1/cycles", headers=inspection.inspector, json={
        "id": "c-old", "name": "2026年第1期", "start_date": "2026-03-02", "unit_ids": ["OLD-1", "U-AY"]})
    assert opened.status_code == 201, opened.text


async def test_a_csv_row_naming_no_unit_of_the_directory_is_rejected_naming_the_column(
    inspection: Inspection,
) -> None:
    body = ("id,name,kind,contact,supervising_unit_id\n"
            "U-NOWHERE,某街道,township,,\n"        # 2 rejected: not in the directory
            "D-YJ,市应急管理局,township,,\n"        # 3 rejected: a department in the directory
            "瑞安市公安局,公安局,department,,\n")  # 4 created: by name, kept as GA
    response = await inspection.client.post("/v1/units/import", content=body.encode(),
                                            headers={**inspection.inspector, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    rows = {r["line"]: r for r in response.json()["rows"]}
    assert [e["field"] for e in rows[2]["errors"]] == ["id"] and "U-NOWHERE" in rows[2]["errors"][0]["reason"]
    assert [e["field"] for e in rows[3]["errors"]] == ["kind"]
    assert (rows[4]["status"], rows[4]["id"]) == ("created", "GA")
    assert (await inspection.ok("GET", "/v1/units/GA", inspection.admin, expect=200))["place"] == "330381"


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
