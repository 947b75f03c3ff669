"""/v1/findings: who may record and read, when a cycle takes findings, what makes a finding valid."""

from __future__ import annotations

from datetime import date
from typing import Any

from .conftest import INSPECTOR_NAME, MEMBER_NAME, Inspection, local
from .test_cycles_api import cycle, seed


def finding(finding_id: str, **more: Any) -> dict[str, Any]:
    return {"id": finding_id, "cycle_id": "c-1", "township_unit_id": "U-AY", "category": "fire",
            "severity": "high", "place": "万松路12号", "description": "消防通道堵塞", "evidence": ["photo:1"], **more}


async def covert_cycle(inspection: Inspection) -> None:
    await seed(inspection)
    await inspection.ok("POST", "/v1/cycles", inspection.inspector, json=cycle("c-1", units=["U-AY", "D-YJ"]))
    await inspection.advance_to(local(date(2026, 3, 3), 10))


async def test_recording_rules(inspection: Inspection) -> None:
    await seed(inspection)
    await inspection.ok("POST", "/v1/cycles", inspection.inspector, json=cycle("c-1", units=["U-AY", "D-YJ"]))
    early = await inspection.client.post("/v1/findings", json=finding("f-0"), headers=inspection.inspector)
    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "cycle_id"  # not started
    await inspection.advance_to(local(date(2026, 3, 3), 10))

    created = await inspection.client.post("/v1/findings", json=finding("f-1"), headers=inspection.inspector)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["recorded_by"] == INSPECTOR_NAME and body["hazard_key"] == "fire:万松路12号"
    assert (await inspection.client.post("/v1/findings", json=finding("f-1"),
                                         headers=inspection.inspector)).json() == body
    other = await inspection.client.post("/v1/findings", json=finding("f-1", place="别处"),
                                         headers=inspection.inspector)
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "id"

    refusals = {
        "cycle_id": (finding("f-2", cycle_id="nope"), 404),
        "township_unit_id": (finding("f-3", township_unit_id="D-YJ"), 422),            # a department
        "department_unit_id": (finding("f-4", department_unit_id="U-AY"), 422),        # a township
    }
    for field, (body_, status) in refusals.items():
        response = await inspection.client.post("/v1/findings", json=body_, headers=inspection.inspector)
        assert response.status_code == status, (field, response.text)
        assert response.json()["errors"][0]["field"] == field
    out_of_scope = await inspection.client.post("/v1/findings", json=finding("f-5", township_unit_id="U-YH"),
                                                headers=inspection.inspector)
    assert out_of_scope.status_code == 422 and out_of_scope.json()["errors"][0]["field"] == "township_unit_id"
    no_unit = await inspection.client.post("/v1/findings", json=finding("f-6", township_unit_id=None),
                                           headers=inspection.inspector)
    assert no_unit.status_code == 422
    bundled = await inspection.ok("POST", "/v1/findings", inspection.member(),
                                  json=finding("f-7", department_unit_id="D-YJ", hazard_key="消防:万松路"))
    assert bundled["recorded_role"] == "supervision_member" and bundled["hazard_key"] == "消防:万松路"

    await inspection.advance_to(local(date(2026, 3, 16)))  # the covert phase is over (timer or not)
    late = await inspection.client.post("/v1/findings", json=finding("f-8"), headers=inspection.inspector)
    assert late.status_code == 409 and late.json()["errors"][0]["field"] == "cycle_id"


async def test_who_reads_which_findings(inspection: Inspection) -> None:
    await covert_cycle(inspection)
    await inspection.ok("POST", "/v1/findings", inspection.inspector, json=finding("f-a"))
    mine = await inspection.ok("POST", "/v1/findings", inspection.member(), json=finding("f-b", place="菜场"))
    theirs = await inspection.ok("POST", "/v1/findings", inspection.member("监督团成员赵六"),
                                 json=finding("f-c", department_unit_id="D-YJ", township_unit_id=None))

    everything = await inspection.all_pages("/v1/findings", inspection.inspector, limit=1)
    # a member's key is theirs alone (client_id): their finding gets an id of its own
    assert sorted(f["client_id"] for f in everything) == ["f-a", "f-b", "f-c"]
    assert [f["id"] for f in await inspection.all_pages("/v1/findings", inspection.admin,
                                                        {"unit_id": "D-YJ"})] == [theirs["id"]]
    own = await inspection.all_pages("/v1/findings", inspection.member(), limit=1)
    assert [f["id"] for f in own] == [mine["id"]] and own[0]["recorded_by"] == MEMBER_NAME
    assert (await inspection.client.get("/v1/findings/f-a", headers=inspection.member())).status_code == 404
    assert (await inspection.client.get("/v1/findings/f-x", headers=inspection.member())).status_code == 404
    assert (await inspection.client.get(f"/v1/findings/{mine['id']}", headers=inspection.member())).status_code == 200
    for who in (inspection.unit("U-AY"), inspection.supervisor):
        for path in ("/v1/findings", "/v1/findings/f-a", "/v1/findings/f-x", "/v1/findings?unit_id=U-AY"):
            response = await inspection.client.get(path, headers=who)
            assert response.status_code == 403, path
        assert (await inspection.client.post("/v1/findings", json=finding("f-z"), headers=who)).status_code == 403
    # nothing published for a finding
    outbox = await inspection.outbox()
    assert [e["type"] for e in outbox] == ["inspection.cycle-opened"]
