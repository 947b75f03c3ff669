"""patrol's HTTP API over a real PostgreSQL and broker: per-item answers, auth, misuse."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from patrol.bootstrap import bootstrap
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role, SigningKey
from pingan_shared.clock import FixedClock
from pingan_shared.http.observe import correlation_id_for
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import SAMPLE_TIME, bearer, read_topic, running_service, scrape

NOW = SAMPLE_TIME
DEVICE = bearer(Role.PATROL_DEVICE, "device-07", team="一队", issued_at=NOW)
ORGANISER = bearer(Role.ORGANISER, "平安办", issued_at=NOW)


@pytest.fixture
def service(database_url: str, platform_settings: PlatformSettings) -> Service:
    settings = PatrolSettings(database_url=database_url, max_request_bytes=200_000)
    return bootstrap(platform=platform_settings, settings=settings, clock=FixedClock(NOW))


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(service) as client:
        for checkpoint in [
            {"id": "CP-1", "tag": "tag-万松路口", "name": "万松路口", "latitude": 27.78, "longitude": 120.65},
            {"id": "CP-2", "tag": "tag-安阳菜场", "name": "安阳菜场"},
        ]:
            response = await client.post("/v1/checkpoints", json=checkpoint, headers=ORGANISER)
            assert response.status_code == 201, response.text
        yield client


def scan(scan_id: str, **overrides: Any) -> dict[str, Any]:
    item = {"scan_id": scan_id, "member_id": "张三", "team_id": "一队", "checkpoint_id": "CP-1",
            "device_time": (NOW - timedelta(minutes=10)).isoformat()}
    item.update(overrides)
    return item


async def test_a_batch_gets_an_answer_per_item(client: httpx.AsyncClient, platform_settings: PlatformSettings) -> None:
    first = await client.post("/v1/scans", json={"scans": [scan("s-1"), scan("s-2", tag="tag-安阳菜场",
                                                                               checkpoint_id=None)]}, headers=DEVICE)
    assert first.status_code == 200
    assert first.json()["accepted"] == 2

    batch = [
        scan("s-3"),                                                    # accepted
        scan("s-1"),                                                    # duplicate of an earlier upload
        scan("s-2", member_id="李四", tag="tag-安阳菜场", checkpoint_id=None),  # same id, other content
        scan("s-4", checkpoint_id="CP-404"),                            # unknown checkpoint
        scan("s-5", device_time=(NOW + timedelta(hours=2)).isoformat()),  # future beyond skew
        scan("s-6", team_id="二队"),                                     # not this device's team
        {"scan_id": "s-7", "member_id": 7},                             # malformed
        "not an object",
        scan("s-3"),                                                    # repeated inside the batch
        scan("s-8", device_time=(NOW - timedelta(days=30)).isoformat()),  # far past
    ]
    response = await client.post("/v1/scans", json={"scans": batch}, headers=DEVICE)
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["accepted", "duplicate", "conflict", "rejected", "rejected", "rejected", "rejected",
                        "rejected", "duplicate", "rejected"]
    fields = {r["index"]: {e["field"] for e in r.get("errors", [])} for r in body["results"]}
    assert fields[2] == {"scan_id"}
    assert fields[3] == {"checkpoint_id"}
    assert fields[4] == {"device_time"}
    assert fields[5] == {"team_id"}
    assert {"member_id", "team_id", "device_time"} <= fields[6]
    assert fields[7] == {"(item)"}
    assert fields[9] == {"device_time"}
    assert (body["accepted"], body["duplicate"], body["conflict"], body["rejected"]) == (1, 2, 1, 6)

    # exactly the three accepted scans were announced, through the outbox, in one topic
    records = await read_topic(platform_settings.kafka_bootstrap_servers,
                               platform_settings.topic("patrol.scans"), expected=3)
    announced = sorted(json.loads(r.value)["payload"]["scan_id"] for r in records)  # type: ignore[attr-defined]
    assert announced == ["s-1", "s-2", "s-3"]
    within = {json.loads(r.value)["payload"]["scan_id"]: json.loads(r.value)["payload"]["within_radius"]  # type: ignore[attr-defined]
              for r in records}
    assert within == {"s-1": None, "s-2": None, "s-3": None}


async def test_an_uploads_events_carry_its_request_id_as_correlation_id(
    client: httpx.AsyncClient, platform_settings: PlatformSettings
) -> None:
    given = await client.post("/v1/scans", json=[scan("c-1"), scan("c-2")],
                              headers={**DEVICE, "X-Request-ID": "app-upload-7"})
    generated = await client.post("/v1/scans", json=scan("c-3"), headers=DEVICE)
    assert given.headers["x-request-id"] == "app-upload-7"
    records = await read_topic(platform_settings.kafka_bootstrap_servers,
                               platform_settings.topic("patrol.scans"), expected=3)
    correlation = {json.loads(r.value)["payload"]["scan_id"]: json.loads(r.value)["correlation_id"]  # type: ignore[attr-defined]
                   for r in records}
    assert correlation["c-1"] == correlation["c-2"] == str(correlation_id_for("app-upload-7"))
    assert correlation["c-3"] == generated.headers["x-request-id"]


async def test_single_scan_status_codes(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/scans", json=scan("one"), headers=DEVICE)).status_code == 201
    assert (await client.post("/v1/scans", json=scan("one"), headers=DEVICE)).status_code == 200
    conflict = await client.post("/v1/scans", json=scan("one", member_id="王五"), headers=DEVICE)
    assert conflict.status_code == 409
    assert conflict.json()["results"][0]["errors"][0]["field"] == "scan_id"
    assert conflict.json()["errors"] == [{"field": "scan_id", "reason": conflict.json()["errors"][0]["reason"]}]
    rejected = await client.post("/v1/scans", json=scan("two", checkpoint_id="nope"), headers=DEVICE)
    assert rejected.status_code == 422
    assert rejected.json()["detail"] == "scan rejected"
    assert [e["field"] for e in rejected.json()["errors"]] == ["checkpoint_id"]


async def test_position_is_checked_against_the_checkpoint_radius(client: httpx.AsyncClient) -> None:
    near = await client.post("/v1/scans", json=scan("near", latitude=27.7801, longitude=120.6501, accuracy_m=5),
                             headers=DEVICE)
    far = await client.post("/v1/scans", json=scan("far", latitude=27.79, longitude=120.66, accuracy_m=5),
                            headers=DEVICE)
    assert near.status_code == far.status_code == 201  # stored either way; the event says within_radius


MALFORMED_BODIES: list[tuple[bytes, int, str]] = [
    (b"{not json", 400, "(body)"),
    (b"\xff\xfe", 400, "(body)"),
    (b"42", 422, "(body)"),
    (b'{"scans": "all of them"}', 422, "scans"),
    (b'{"scans": []}', 422, "scans"),
]


async def test_malformed_bodies_get_a_clear_4xx(client: httpx.AsyncClient) -> None:
    # one service for every case: none is stored, so each meets the same service
    for body, status, field in MALFORMED_BODIES:
        response = await client.post("/v1/scans", content=body, headers={**DEVICE, "content-type": "application/json"})
        assert response.status_code == status, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, (body, response.text)


async def test_text_postgresql_cannot_store_is_refused_per_field(client: httpx.AsyncClient) -> None:
    # Both are valid JSON and valid Python strings; PostgreSQL refuses both, so they must stop at the edge.
    raw = (b'{"scans": [' + json.dumps(scan("nul", member_id="张\u0000三")).encode() + b", "
           + json.dumps(scan("lone\ud800")).encode() + b", " + json.dumps(scan("fine-平安")).encode() + b"]}")
    response = await client.post("/v1/scans", content=raw, headers={**DEVICE, "content-type": "application/json"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted"]
    assert [e["field"] for e in results[0]["errors"]] == ["member_id"]
    assert [e["field"] for e in results[1]["errors"]] == ["scan_id"] and results[1]["scan_id"] == "lone?"

    checkpoint = json.dumps({"id": "CP-9", "tag": "t-9", "name": "\ud800\u0000"}).encode()  # escaped ASCII
    registered = await client.post("/v1/checkpoints", content=checkpoint,
                                   headers={**ORGANISER, "content-type": "application/json"})
    assert registered.status_code == 422
    assert [e["field"] for e in registered.json()["errors"]] == ["body.name"]
    listed = await client.get("/v1/checkpoints", params={"after": "CP\x00"}, headers=ORGANISER)
    assert listed.status_code == 422 and listed.json()["errors"][0]["field"] == "query.after"


async def test_batch_and_body_limits(client: httpx.AsyncClient) -> None:
    too_many = await client.post("/v1/scans", json=[scan(f"n{i}", device_time=NOW.isoformat()) for i in range(501)],
                                 headers=DEVICE)
    assert too_many.status_code == 413
    assert too_many.json()["errors"][0]["field"] == "scans"
    huge = await client.post("/v1/scans", json=scan("big", member_id="巡" * 300_000), headers=DEVICE)
    assert huge.status_code == 413


async def test_auth_is_required_and_role_checked(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/scans", json=scan("a"))).status_code == 401
    bad = await client.post("/v1/scans", json=scan("a"), headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"].startswith("Bearer")
    forged = bearer(Role.PATROL_DEVICE, "d", team="一队", key=SigningKey.generate(), issued_at=NOW)  # not the issuer
    assert (await client.post("/v1/scans", json=scan("a"), headers=forged)).status_code == 401
    expired = bearer(Role.PATROL_DEVICE, "d", team="一队", issued_at=NOW - timedelta(days=2))
    assert (await client.post("/v1/scans", json=scan("a"), headers=expired)).status_code == 401
    wrong_role = await client.post("/v1/scans", json=scan("a"), headers=ORGANISER)
    assert wrong_role.status_code == 403 and wrong_role.json()["errors"][0]["field"] == "Authorization"
    device_registering = await client.post("/v1/checkpoints", json={"id": "X", "tag": "x", "name": "x"},
                                           headers=DEVICE)
    assert device_registering.status_code == 403
    assert (await client.get("/v1/checkpoints")).status_code == 401


async def test_checkpoint_registration_is_idempotent_and_detects_clashes(client: httpx.AsyncClient) -> None:
    same = {"id": "CP-1", "tag": "tag-万松路口", "name": "万松路口", "latitude": 27.78, "longitude": 120.65}
    assert (await client.post("/v1/checkpoints", json=same, headers=ORGANISER)).status_code == 200
    other_name = await client.post("/v1/checkpoints", json={**same, "name": "别的"}, headers=ORGANISER)
    assert other_name.status_code == 409 and other_name.json()["errors"][0]["field"] == "id"
    tag_taken = await client.post("/v1/checkpoints", json={"id": "CP-9", "tag": "tag-万松路口", "name": "x"},
                                  headers=ORGANISER)
    assert tag_taken.status_code == 409 and tag_taken.json()["errors"][0]["field"] == "tag"
    invalid = await client.post("/v1/checkpoints", json={"id": "CP 9", "tag": "t", "name": "x", "radius_m": -1},
                                headers=ORGANISER)
    assert invalid.status_code == 422
    assert {e["field"] for e in invalid.json()["errors"]} == {"body.id", "body.radius_m"}
    listed = await client.get("/v1/checkpoints", headers=DEVICE)
    assert [c["name"] for c in listed.json()["items"]] == ["万松路口", "安阳菜场"]


async def test_ops_endpoints(service: Service, client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok", "workers": "ok"}
    await client.post("/v1/scans", json=scan("m"), headers=DEVICE)
    metrics = await scrape(service)  # on the metrics port: the API port has none
    assert 'pingan_http_requests_total{method="POST",route="/v1/scans",status="201"}' in metrics
    assert (await client.get("/metrics")).status_code == 404


async def test_overlapping_uploads_in_opposite_orders_never_deadlock(client: httpx.AsyncClient) -> None:
    # an offline app that re-merged its queue retries while its first upload is still in flight
    scans = [scan(f"o-{i}", device_time=(NOW - timedelta(seconds=i)).isoformat()) for i in range(300)]
    uploads = [scans, scans[::-1], scans[100:] + scans[:100], scans[::-1]]
    answers = await asyncio.gather(*(client.post("/v1/scans", json={"scans": u}, headers=DEVICE) for u in uploads))
    assert [a.status_code for a in answers] == [200] * len(uploads), [a.text[:200] for a in answers]
    assert sum(a.json()["accepted"] for a in answers) == len(scans)
    assert sum(a.json()["duplicate"] for a in answers) == len(scans) * (len(uploads) - 1)


@pytest.fixture
async def clocked(database_url: str, platform_settings: PlatformSettings
                  ) -> AsyncIterator[tuple[httpx.AsyncClient, FixedClock]]:
    """A patrol API whose clock the test moves (the `client` fixture's stands still)."""
    clock = FixedClock(NOW)
    service = bootstrap(platform=platform_settings, settings=PatrolSettings(database_url=database_url), clock=clock)
    async with running_service(service) as client:
        checkpoint = {"id": "CP-1", "tag": "tag-万松路口", "name": "万松路口"}
        assert (await client.post("/v1/checkpoints", json=checkpoint, headers=ORGANISER)).status_code == 201
        yield client, clock


async def test_a_retry_of_a_stored_scan_is_a_duplicate_even_after_the_offline_window(
    clocked: tuple[httpx.AsyncClient, FixedClock],
) -> None:
    # stored at T+71:59 after the scan; the phone never saw the answer and resends at T+72:01
    client, clock = clocked
    late = scan("late", device_time=(NOW - timedelta(hours=71, minutes=59)).isoformat())
    assert (await client.post("/v1/scans", json=late, headers=DEVICE)).status_code == 201
    clock.advance(timedelta(minutes=2))

    retry = await client.post("/v1/scans", json=late, headers=DEVICE)
    assert (retry.status_code, retry.json()["results"][0]["status"]) == (200, "duplicate"), retry.text
    changed = await client.post("/v1/scans", json={**late, "member_id": "王五"}, headers=DEVICE)
    assert (changed.status_code, changed.json()["errors"][0]["field"]) == (409, "scan_id"), changed.text

    never_stored = scan("never", device_time=late["device_time"])
    batch = await client.post("/v1/scans", json=[late, never_stored, late, {**late, "member_id": "王五"}],
                              headers=DEVICE)
    assert [r["status"] for r in batch.json()["results"]] == ["duplicate", "rejected", "duplicate", "conflict"]
    assert [e["field"] for e in batch.json()["results"][1]["errors"]] == ["device_time"]


async def test_a_retry_of_a_stored_scan_is_a_duplicate_when_its_tag_no_longer_resolves(
    clocked: tuple[httpx.AsyncClient, FixedClock], database_url: str,
) -> None:
    client, _ = clocked
    by_tag = scan("by-tag", checkpoint_id=None, tag="tag-万松路口")
    assert (await client.post("/v1/scans", json=by_tag, headers=DEVICE)).status_code == 201
    # the NFC tag was replaced since (there is no API for it yet: straight in the database)
    await _execute(database_url, "UPDATE checkpoints SET tag = 'tag-新' WHERE id = 'CP-1'")
    retry = await client.post("/v1/scans", json=by_tag, headers=DEVICE)
    assert (retry.status_code, retry.json()["results"][0]["status"]) == (200, "duplicate"), retry.text


async def test_a_device_of_another_team_learns_nothing_about_stored_scans(
    clocked: tuple[httpx.AsyncClient, FixedClock],
) -> None:
    client, _ = clocked
    assert (await client.post("/v1/scans", json=scan("mine"), headers=DEVICE)).status_code == 201
    other_team = bearer(Role.PATROL_DEVICE, "device-99", team="二队", issued_at=NOW)
    for probe in (scan("mine"), scan("mine", member_id="王五")):
        answer = await client.post("/v1/scans", json=probe, headers=other_team)
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["team_id"]


async def _execute(database_url: str, statement: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
