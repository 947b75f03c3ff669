"""Seeded fuzzing of patrol's write endpoints: whatever a device or a script sends, the answer is a
clear 2xx/4xx naming the field, never a 500 (which would mean an unhandled case)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from patrol.bootstrap import bootstrap
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import SAMPLE_TIME, bearer, running_service
from pingan_stack.testing import random_json as shared_random_json

DEVICE = bearer(Role.PATROL_DEVICE, "device-07", team="一队", issued_at=SAMPLE_TIME)
ADMIN = bearer(Role.ADMIN, "admin", issued_at=SAMPLE_TIME)
WEIRD_STRINGS = ["", " ", "平安", "巡" * 300, "\u0000", "'; DROP TABLE scans; --", "🚓", "\ud800", "NaN", "null",
                 "2026-13-45T99:99:99Z", "CP-1", "一队", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")]
WEIRD_NUMBERS = [0, -1, 1e308, -1e308, 2**63, 3.5, 91, -181, 10**30]


def random_json(rng: random.Random) -> Any:
    return shared_random_json(rng, ["scan_id", "scans", "team_id"], WEIRD_STRINGS, WEIRD_NUMBERS)


def valid_scan(n: int) -> dict[str, Any]:
    return {"scan_id": f"f-{n}", "member_id": "张三", "team_id": "一队", "checkpoint_id": "CP-1",
            "device_time": (SAMPLE_TIME - timedelta(minutes=1)).isoformat(), "latitude": 27.7, "longitude": 120.6,
            "accuracy_m": 5}


def mutated_scan(rng: random.Random, n: int) -> dict[str, Any]:
    scan = valid_scan(n)
    for _ in range(rng.randrange(1, 4)):
        field = rng.choice([*scan, "extra"])
        if rng.random() < 0.2:
            scan.pop(field, None)
        else:
            scan[field] = random_json(rng)
    return scan


@pytest.fixture
async def client(database_url: str, platform_settings: PlatformSettings) -> AsyncIterator[httpx.AsyncClient]:
    service = bootstrap(platform=platform_settings, settings=PatrolSettings(database_url=database_url),
                        clock=FixedClock(SAMPLE_TIME))
    async with running_service(service) as client:
        created = await client.post("/v1/checkpoints", json={"id": "CP-1", "tag": "t-1", "name": "路口"},
                                    headers=ADMIN)
        assert created.status_code == 201
        yield client


def encode(rng: random.Random, body: Any) -> bytes:
    """Escaped ASCII, or raw UTF-8 where a lone surrogate becomes bytes that are not UTF-8 at all."""
    return json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def assert_clear_answer(response: httpx.Response, body: object) -> None:
    assert response.status_code < 500, f"{response.status_code} for {body!r}: {response.text[:500]}"
    answer = response.json()
    if response.status_code >= 400:
        assert answer["errors"], answer
        assert all(e["field"] and e["reason"] for e in answer["errors"]), answer
    else:
        for item in answer.get("results", []):
            assert item["status"] in {"accepted", "duplicate", "conflict", "rejected"}
            if item["status"] in {"rejected", "conflict"}:
                assert all(e["field"] for e in item["errors"])


@pytest.mark.parametrize("seed", range(4))
async def test_random_and_mutated_uploads_never_fail_the_server(client: httpx.AsyncClient, seed: int) -> None:
    rng = random.Random(seed)
    for n in range(60):
        choice = rng.randrange(3)
        if choice == 0:
            body: Any = random_json(rng)
        elif choice == 1:
            body = mutated_scan(rng, seed * 1000 + n)
        else:
            body = {"scans": [mutated_scan(rng, seed * 1000 + n * 10 + k) if rng.random() < 0.7 else random_json(rng)
                              for k in range(rng.randrange(1, 6))]}
        response = await client.post("/v1/scans", content=encode(rng, body),
                                     headers={**DEVICE, "content-type": "application/json"})
        assert_clear_answer(response, body)


@pytest.mark.parametrize("seed", range(2))
async def test_random_checkpoint_registrations_never_fail_the_server(client: httpx.AsyncClient, seed: int) -> None:
    rng = random.Random(100 + seed)
    for n in range(60):
        body = {"id": f"CP-{seed}-{n}", "tag": f"tag-{seed}-{n}", "name": "路口", "latitude": 27.7, "longitude": 120.6,
                "radius_m": 30}
        for _ in range(rng.randrange(1, 3)):
            body[rng.choice([*body, "extra"])] = random_json(rng)
        response = await client.post("/v1/checkpoints", content=encode(rng, body),
                                     headers={**ADMIN, "content-type": "application/json"})
        assert_clear_answer(response, body)
