"""/v1/cycles over the real database and broker: opening, idempotence, overlap refused naming each clash."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from .conftest import Inspection, local

UNITS = [
    {"id": "U-AY", "name": "安阳街道", "kind": "township", "contact": "张"},
    {"id": "U-YH", "name": "玉海街道", "kind": "township", "contact": "赵"},
    {"id": "D-YJ", "name": "市应急管理局", "kind": "department", "contact": "李"},
]


async def seed(inspection: Inspection) -> None:
    for unit in UNITS:
        await inspection.ok("POST", "/v1/units", inspection.inspector, json=unit)


def cycle(cycle_id: str, start: str = "2026-03-02", units: list[str] | None = None, **more: Any) -> dict[str, Any]:
    return {"id": cycle_id, "name": f"2026年第{cycle_id[-1]}期", "start_date": start,
            "unit_ids": units or ["U-AY", "U-YH", "D-YJ"], **more}


async def test_open_a_cycle_and_read_it(inspection: Inspection) -> None:
    await seed(inspection)
    response = await inspection.client.post("/v1/cycles", json=cycle("c-1"), headers=inspection.inspector)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["phase"] == "covert" and body["day_basis"] == "calendar"
    assert (body["covert_days"], body["rectification_days"]) == (14, 14)
    assert datetime.fromisoformat(body["starts_at"]) == local(date(2026, 3, 2))
    assert datetime.fromisoformat(body["covert_ends_at"]) == local(date(2026, 3, 16))
    assert datetime.fromisoformat(body["closes_at"]) == local(date(2026, 3, 30))
    assert sorted(body["unit_ids"]) == ["D-YJ", "U-AY", "U-YH"]

    again = await inspection.client.post("/v1/cycles", json=cycle("c-1"), headers=inspection.admin)
    assert again.status_code == 200 and again.json() == body
    changed = await inspection.client.post("/v1/cycles", json=cycle("c-1", covert_days=7), headers=inspection.admin)
    assert changed.status_code == 409 and changed.json()["errors"][0]["field"] == "id"

    assert await inspection.ok("GET", "/v1/cycles/c-1", inspection.supervisor, expect=200) == body
    listed = await inspection.ok("GET", "/v1/cycles", inspection.supervisor, expect=200)
    assert [c["id"] for c in listed["items"]] == ["c-1"] and listed["next_after"] is None
    for who in (inspection.unit("U-AY"), inspection.member()):
        assert (await inspection.client.get("/v1/cycles/c-1", headers=who)).status_code == 403
        assert (await inspection.client.get("/v1/cycles", headers=who)).status_code == 403
        assert (await inspection.client.post("/v1/cycles", json=cycle("c-2"), headers=who)).status_code == 403
    assert (await inspection.client.post("/v1/cycles", json=cycle("c-2"),
                                         headers=inspection.supervisor)).status_code == 403

    events = (await inspection.all_inspection_events())["inspection.cycles"]
    assert [(e["type"], e["key"], e["sequence"]) for e in events] == [("inspection.cycle-opened", "c-1", 1)]
    assert events[0]["payload"]["unit_count"] == 3


async def test_overlapping_scope_is_refused_naming_each_clash(inspection: Inspection) -> None:
    await seed(inspection)
    await inspection.ok("POST", "/v1/cycles", inspection.inspector, json=cycle("c-1", units=["U-AY", "D-YJ"]))
    # starts inside c-1 (which runs 2026-03-02 – 2026-03-29)
    clash = await inspection.client.post("/v1/cycles", json=cycle("c-2", start="2026-03-20"),
                                         headers=inspection.inspector)
    assert clash.status_code == 409, clash.text
    reasons = [e["reason"] for e in clash.json()["errors"]]
    assert [e["field"] for e in clash.json()["errors"]] == ["unit_ids", "unit_ids"]
    assert reasons == ["市应急管理局（D-YJ）已在周期 2026年第1期（c-1，2026-03-02–2026-03-29）中",
                       "安阳街道（U-AY）已在周期 2026年第1期（c-1，2026-03-02–2026-03-29）中"]
    # a unit not in c-1 can be in an overlapping cycle; the next cycle may start the day c-1 closes
    await inspection.ok("POST", "/v1/cycles", inspection.inspector, json=cycle("c-3", start="2026-03-20",
                                                                                 units=["U-YH"]))
    await inspection.ok("POST", "/v1/cycles", inspection.inspector, json=cycle("c-4", start="2026-03-30",
                                                                                 units=["U-AY", "D-YJ"]))
    unknown = await inspection.client.post("/v1/cycles", json=cycle("c-5", start="2026-06-01", units=["U-AY", "X"]),
                                           headers=inspection.inspector)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "unit_ids"
    assert "X" in unknown.json()["errors"][0]["reason"]
    past = await inspection.client.post("/v1/cycles", json=cycle("c-6", start="2026-01-05", units=["U-YH"]),
                                        headers=inspection.inspector)
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "start_date"
    twice = await inspection.client.post("/v1/cycles", json=cycle("c-7", start="2026-06-01", units=["U-AY", "U-AY"]),
                                         headers=inspection.inspector)
    assert twice.status_code == 422


async def test_concurrent_overlapping_cycles_one_wins_the_other_names_the_clash(inspection: Inspection) -> None:
    await seed(inspection)
    results = await asyncio.gather(*[
        inspection.client.post("/v1/cycles", json=cycle(f"r-{n}", start="2026-04-06", units=["U-AY", "U-YH"]),
                               headers=inspection.inspector) for n in range(6)])
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in results]
    for refused in (r for r in results if r.status_code == 409):
        assert {e["field"] for e in refused.json()["errors"]} == {"unit_ids"}
        assert all("已在周期" in e["reason"] for e in refused.json()["errors"])
