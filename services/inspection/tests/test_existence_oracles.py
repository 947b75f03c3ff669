"""No existence oracles (DESIGN.md §6): a supervision-group member, who sees only their own findings, gets for another
recorder's finding id exactly the answer a never-used id gets, on every route that takes a finding id. Checked from
outside with real tokens; the answers are compared whole (status and JSON body), the ids in them set aside."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from .conftest import INSPECTOR_NAME, MEMBER_NAME, Inspection, local
from .test_cycles_api import cycle, seed

OTHER_MEMBER = "监督团成员赵六"


def finding(key: str, place: str = "万松路12号") -> dict[str, Any]:
    return {"id": key, "cycle_id": "c-1", "township_unit_id": "U-AY", "category": "fire", "place": place,
            "description": "消防通道堵塞", "evidence": ["photo:1"]}


def without_ids(response: httpx.Response, *ids: str) -> tuple[int, str]:
    """The answer with the finding's own ids and the asked id blanked: what is left must not differ."""
    text = response.text
    body = response.json()
    for value in (*ids, body.get("id"), body.get("client_id")):
        if isinstance(value, str) and value:
            text = text.replace(value, "<id>")
    return response.status_code, text


async def test_a_member_posting_another_recorders_finding_id_gets_what_a_never_used_id_gets(
    inspection: Inspection,
) -> None:
    h = inspection
    await seed(h)
    await h.ok("POST", "/v1/cycles", h.inspector, json=cycle("c-1", units=["U-AY", "D-YJ"]))
    await h.advance_to(local(date(2026, 3, 3), 10))
    theirs = await h.ok("POST", "/v1/findings", h.member(OTHER_MEMBER), json=finding("f-zhao"), expect=201)
    inspectors = await h.ok("POST", "/v1/findings", h.inspector, json=finding("f-wang"), expect=201)
    assert inspectors["id"] == "f-wang"  # an inspector's key is the finding's id
    me = h.member()

    # the same finding under another member's key, an inspector's id, another member's stored id, and a key never
    # used: the same answer, each a new finding of mine
    answers = {key: await h.client.post("/v1/findings", json=finding(key), headers=me)
               for key in ("f-zhao", "f-wang", theirs["id"], "f-never")}
    never = without_ids(answers["f-never"], "f-never")
    for key, answer in answers.items():
        assert without_ids(answer, key) == never, (key, answer.text)
        assert answer.status_code == 201 and answer.json()["recorded_by"] == MEMBER_NAME
        assert answer.json()["client_id"] == key and answer.json()["id"] not in (theirs["id"], "f-wang")

    # nothing of theirs changed, and each of mine answers its own key again
    assert await h.ok("GET", f"/v1/findings/{theirs['id']}", h.member(OTHER_MEMBER)) == theirs
    assert (await h.ok("GET", "/v1/findings/f-wang", h.inspector))["recorded_by"] == INSPECTOR_NAME
    again = await h.client.post("/v1/findings", json=finding("f-zhao"), headers=me)
    assert (again.status_code, again.json()) == (200, answers["f-zhao"].json())
    clash = await h.client.post("/v1/findings", json=finding("f-zhao", place="别处"), headers=me)
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "id"  # my own key, other content
    mine = await h.all_pages("/v1/findings", me)
    assert sorted(f["client_id"] for f in mine) == sorted(answers)

    # reading by id: another recorder's finding is the 404 of an id that never existed
    unknown = await h.client.get("/v1/findings/F-never", headers=me)
    assert unknown.status_code == 404
    for other in (theirs["id"], "f-wang"):
        refused = await h.client.get(f"/v1/findings/{other}", headers=me)
        assert without_ids(refused, other) == without_ids(unknown, "F-never")

    # inspectors and admins read every finding, so their ids are shared: another inspector's is a 409 to them
    taken = await h.client.post("/v1/findings", json=finding("f-wang", place="别处"), headers=h.admin)
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "id"
