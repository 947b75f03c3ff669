"""Scan facts kept at intake (method, device, the upload's sent_at, the clock offset and the corrected time) and
published in patrol.scan-accepted v2; a retry sent later is still a duplicate; a checkpoint's expected method."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pingan_shared.auth import Role

from .conftest import Patrol, local

TONIGHT = date(2026, 3, 2)


def scan(scan_id: str, minute: int, **extra: Any) -> dict[str, Any]:
    return {"scan_id": scan_id, "member_id": "张三", "team_id": "一队", "checkpoint_id": "CP-A",
            "device_time": local(TONIGHT, 20, minute).isoformat(), **extra}


async def test_scan_facts_are_kept_and_published(patrol: Patrol) -> None:
    registered = await patrol.ok("POST", "/v1/checkpoints", patrol.organiser, expect=201, json={
        "id": "CP-A", "tag": "nfc-CP-A", "name": "安阳街道万松路口", "latitude": 27.78, "longitude": 120.65,
        "expected_method": "nfc"})
    assert registered["expected_method"] == "nfc"
    assert registered.pop("area_name") is None  # the answer adds the area's name, which is no field to send
    # the same registration again is harmless; another expected method under the same id is a clash
    await patrol.ok("POST", "/v1/checkpoints", patrol.organiser, expect=200, json=registered)
    await patrol.ok("POST", "/v1/checkpoints", patrol.organiser, expect=409,
                    json={**registered, "expected_method": "qr"})
    bad = await patrol.client.post("/v1/checkpoints", headers=patrol.organiser,
                                   json={**registered, "id": "CP-X", "tag": "t-x", "expected_method": "bluetooth"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("body.expected_method")

    now = local(TONIGHT, 20, 30)
    await patrol.advance_to(now)
    device = patrol.auth(Role.PATROL_DEVICE, "phone-张三", team="一队")
    # a batch whose phone clock is 30 s behind (latency and drift: device times stand) ...
    batch = {"sent_at": (now - timedelta(seconds=30)).isoformat(),
             "scans": [scan("f-1", 0, method="nfc"), scan("f-2", 10, method="qr")]}
    await patrol.ok("POST", "/v1/scans", device, json=batch, expect=200)
    # ... a single scan whose phone runs ten minutes slow (corrected), and one from an old app (no facts)
    await patrol.ok("POST", "/v1/scans", device, expect=201,
                    json={**scan("f-3", 5, method="manual"), "sent_at": (now - timedelta(minutes=10)).isoformat()})
    await patrol.ok("POST", "/v1/scans", device, expect=201, json=scan("f-4", 20))

    async with patrol.db() as conn:
        rows = {r["scan_id"]: r for r in await conn.fetch("SELECT * FROM scans")}
    assert {k: (r["method"], r["device_id"], r["clock_offset_s"]) for k, r in rows.items()} == {
        "f-1": ("nfc", "phone-张三", 30.0), "f-2": ("qr", "phone-张三", 30.0), "f-3": ("manual", "phone-张三", 600.0),
        "f-4": (None, "phone-张三", None)}
    assert rows["f-1"]["corrected_time"] == rows["f-1"]["device_time"] == local(TONIGHT, 20, 0)
    assert rows["f-3"]["device_time"] == local(TONIGHT, 20, 5)
    assert rows["f-3"]["corrected_time"] == local(TONIGHT, 20, 15)
    assert rows["f-3"]["sent_at"] == now - timedelta(minutes=10) and rows["f-4"]["sent_at"] is None

    events = {e["payload"]["scan_id"]: e for e in await patrol.outbox("patrol.scan-accepted")}
    assert {e["schema_version"] for e in events.values()} == {2}
    f3 = events["f-3"]["payload"]
    assert (f3["method"], f3["device_id"], f3["clock_offset_seconds"]) == ("manual", "phone-张三", 600.0)
    assert datetime.fromisoformat(f3["corrected_time"]) == local(TONIGHT, 20, 15)
    assert events["f-4"]["payload"]["sent_at"] is None and events["f-4"]["payload"]["method"] is None

    # the phone never heard the answer and resends a minute later: a new sent_at, the same scans
    again = {"sent_at": (now + timedelta(minutes=1)).isoformat(),
             "scans": [scan("f-1", 0, method="nfc"), scan("f-2", 10, method="qr")]}
    answer = await patrol.ok("POST", "/v1/scans", device, json=again, expect=200)
    assert answer["duplicate"] == 2
    # another method under a used scan id is other content
    changed = await patrol.ok("POST", "/v1/scans", device, json={"scans": [scan("f-1", 0, method="qr")]}, expect=200)
    assert changed["conflict"] == 1
    assert len(await patrol.outbox("patrol.scan-accepted")) == 4

    for body, field in [({"sent_at": "yesterday", "scans": [scan("g-1", 0)]}, "sent_at"),
                        ({"sent_at": "2026-03-02T20:00:00", "scans": [scan("g-1", 0)]}, "sent_at"),
                        ({**scan("g-1", 0), "sent_at": 1700000000}, "sent_at"),
                        ({"scans": [scan("g-1", 0, method="bluetooth")]}, "method")]:
        response = await patrol.client.post("/v1/scans", headers=device, json=body)
        assert response.status_code in (200, 422), response.text
        errors = response.json()["errors"] if response.status_code == 422 else \
            response.json()["results"][0]["errors"]
        assert [e["field"] for e in errors] == [field], response.json()
