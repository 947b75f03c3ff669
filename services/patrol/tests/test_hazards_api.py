"""Hazard reports from the field over the real database and broker: a report becomes one
patrol.hazard-reported in the outbox (and on the topic), a re-sent report changes nothing, a different one under
a used id is a conflict, a device reports only for its own team, overseers list them, bad input is a 4xx naming
the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pingan_shared.auth import Role

from .conftest import Patrol, local

TONIGHT = date(2026, 3, 2)
SEEN_AT = local(TONIGHT, 21, 10)


def report(client_id: str = "h-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_hazard_id": client_id, "member_id": "张三", "category": "fire",
        "description": "居民楼楼道堆放大量纸箱杂物，堵塞消防通道，灭火器已过期。",
        "place": "安阳街道万松路12号", "latitude": 27.7801, "longitude": 120.6502,
        "photo_refs": ["photos/2026-03-02/h-1-a.jpg", "photos/2026-03-02/h-1-b.jpg"], "unit_id": "安阳街道",
        "reported_at": SEEN_AT.isoformat(),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
async def night(patrol: Patrol) -> Patrol:
    await patrol.advance_to(local(TONIGHT, 21, 30))
    return patrol


async def test_a_report_becomes_one_hazard_reported_event(night: Patrol) -> None:
    patrol = night
    first = await patrol.ok("POST", "/v1/hazards", patrol.device("一队"), json=report(), expect=201)
    assert first["hazard_id"].startswith("PH-") and first["team_id"] == "一队"
    assert first["device_id"] == "device-一队" and first["description"].startswith("居民楼楼道")
    # the same report sent again (the answer was lost): the same answer, nothing new
    again = await patrol.ok("POST", "/v1/hazards", patrol.device("一队"), json=report(), expect=200)
    assert again == first
    same_instant = report(reported_at=SEEN_AT.astimezone(UTC).isoformat(), team_id="一队")
    assert await patrol.ok("POST", "/v1/hazards", patrol.device("一队"), json=same_instant, expect=200) == first
    # another report under a used id
    clash = await patrol.client.post("/v1/hazards", headers=patrol.device("一队"),
                                     json=report(description="路口井盖缺失"))
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "body.client_hazard_id"
    # another team's app picked the same id: another hazard
    other = await patrol.ok("POST", "/v1/hazards", patrol.device("二队"), json=report(), expect=201)
    assert other["hazard_id"] != first["hazard_id"]

    events = await patrol.outbox("patrol.hazard-reported")
    assert [e["payload"]["hazard_id"] for e in events] == [first["hazard_id"], other["hazard_id"]]
    event = events[0]
    assert event["key"] == first["hazard_id"] and event["topic"] == patrol.platform.topic("patrol.hazards")
    payload = event["payload"]
    assert (payload["team_id"], payload["member_id"], payload["category"], payload["unit_id"]) == (
        "一队", "张三", "fire", "安阳街道")
    assert payload["description"] == report()["description"] and payload["place"] == "安阳街道万松路12号"
    assert payload["photo_refs"] == report()["photo_refs"]
    assert datetime.fromisoformat(payload["reported_at"]) == SEEN_AT

    async def published() -> bool:
        async with patrol.db() as conn:
            return await conn.fetchval(
                "SELECT bool_and(sent_at IS NOT NULL) FROM outbox WHERE topic = $1",
                patrol.platform.topic("patrol.hazards")) is True
    await patrol.until(published, "the hazard events relayed to the broker")


async def test_a_device_reports_only_for_its_own_team_and_overseers_list(night: Patrol) -> None:
    patrol = night
    forged = await patrol.client.post("/v1/hazards", headers=patrol.device("一队"), json=report(team_id="二队"))
    assert forged.status_code == 403 and forged.json()["errors"][0]["field"] == "body.team_id"
    for who in (patrol.organiser, patrol.supervisor, patrol.auth(Role.MEMBER, "张三"),
                patrol.auth(Role.INSPECTOR, "王五")):
        refused = await patrol.client.post("/v1/hazards", headers=who, json=report())
        assert refused.status_code == 403
    assert (await patrol.client.post("/v1/hazards", json=report())).status_code == 401
    assert await patrol.outbox("patrol.hazard-reported") == []

    for n in range(3):
        await patrol.ok("POST", "/v1/hazards", patrol.device("一队"), json=report(f"a-{n}"), expect=201)
    await patrol.ok("POST", "/v1/hazards", patrol.device("二队"), json=report("b-0", category="roads"), expect=201)
    admin = patrol.auth(Role.ADMIN, "管理员")
    page = await patrol.ok("GET", "/v1/hazards", admin, params={"team_id": "一队", "limit": 2}, expect=200)
    rest = await patrol.ok("GET", "/v1/hazards", admin, expect=200,
                           params={"team_id": "一队", "limit": 2, "after": page["next_after"]})
    # one received_at (the clock stands still): paged by hazard id, each once
    assert sorted(h["client_hazard_id"] for h in page["items"] + rest["items"]) == ["a-0", "a-1", "a-2"]
    assert rest["next_after"] is None
    everything = await patrol.ok("GET", "/v1/hazards", patrol.supervisor, expect=200)
    assert {h["team_id"] for h in everything["items"]} == {"一队", "二队"}
    for who in (patrol.device("一队"), patrol.auth(Role.MEMBER, "张三"), patrol.auth(Role.INSPECTOR, "王五")):
        assert (await patrol.client.get("/v1/hazards", headers=who)).status_code == 403


BAD_REPORTS: list[tuple[dict[str, Any], str]] = [
    ({"category": None}, "body.category"),
    ({"category": "ufo"}, "body.category"),
    ({"description": "   "}, "body.description"),
    ({"description": "隐" * 2001}, "body.description"),
    ({"member_id": ""}, "body.member_id"),
    ({"latitude": 27.78, "longitude": None}, "body"),
    ({"latitude": True}, "body.latitude"),
    ({"photo_refs": ["p"] * 21}, "body.photo_refs"),
    ({"description": "楼道\u0000杂物"}, "body.description"),
    ({"reported_at": "2026-03-02T21:10:00"}, "body.reported_at"),  # no offset: ambiguous
    ({"reported_at": 1772457000}, "body.reported_at"),  # a bare number is not read as a Unix time
    ({"reported_at": (SEEN_AT + timedelta(hours=3)).isoformat()}, "body.reported_at"),  # the future
    ({"reported_at": (SEEN_AT - timedelta(days=10)).isoformat()}, "body.reported_at"),  # past the offline window
    ({"surprise": 1}, "body.surprise"),
]


async def test_bad_reports_get_a_4xx_naming_the_field(night: Patrol) -> None:
    for overrides, field in BAD_REPORTS:
        body = report()
        for key, value in overrides.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        response = await night.client.post("/v1/hazards", headers=night.device("一队"), json=body)
        assert response.status_code == 422, (overrides, response.text)
        assert any(e["field"].startswith(field) for e in response.json()["errors"]), (overrides, response.json())
    assert await night.outbox("patrol.hazard-reported") == []


async def test_a_huge_report_is_refused_before_it_is_read(night: Patrol) -> None:
    body = report(photo_refs=["photos/" + "x" * 400] * 20, description="隐" * 2000)
    body["padding"] = "填" * 1_000_000  # 3 MB of UTF-8, well past PATROL_MAX_REQUEST_BYTES (2 MB)
    response = await night.client.post("/v1/hazards", headers=night.device("一队"), json=body)
    assert response.status_code == 413
    assert await night.outbox("patrol.hazard-reported") == []
