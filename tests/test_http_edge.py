"""The shared HTTP edge over a real service (patrol: a raw-body route and a pydantic-body route).

Bodies that break the JSON parser itself (an integer past Python's digit limit, nesting past the recursion
limit) and oversized bodies that arrive chunked, without a content-length, must get the one error shape
with the body named, never a 500 or a 400 that hides a 413.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from patrol.bootstrap import bootstrap
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import SAMPLE_TIME, bearer, running_service, scrape

MAX_REQUEST_BYTES = 50_000
JSON = {"content-type": "application/json"}
DEVICE = {**bearer(Role.PATROL_DEVICE, "device-07", team="一队", issued_at=SAMPLE_TIME), **JSON}
ORGANISER = {**bearer(Role.ORGANISER, "平安办", issued_at=SAMPLE_TIME), **JSON}

# json.loads raises ValueError for an integer literal over 4,300 digits (CVE-2020-10735's limit) ...
HUGE_INTEGER = b'{"id": "CP-1", "tag": "t", "name": "n", "radius_m": ' + b"9" * 5_000 + b"}"
# ... and RecursionError for nesting deeper than the interpreter's recursion limit; both stay under the byte limit.
DEEP_NESTING = b'{"id": "CP-1", "tag": "t", "name": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"

ROUTES = [("/v1/scans", DEVICE), ("/v1/checkpoints", ORGANISER)]


@pytest.fixture
def service(database_url: str, platform_settings: PlatformSettings) -> Service:
    settings = PatrolSettings(database_url=database_url, max_request_bytes=MAX_REQUEST_BYTES)
    return bootstrap(platform=platform_settings, settings=settings, clock=FixedClock(SAMPLE_TIME))


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(service) as client:
        yield client


def assert_names_the_body(response: httpx.Response, status: int, case: object = None) -> None:
    assert response.status_code == status, (case, response.text)
    body = response.json()
    assert body["detail"], case
    assert [e["field"] for e in body["errors"]] == ["(body)"], (case, body)
    assert "x-request-id" in response.headers, case  # answered by the app's edge, not a bare server error


# The tests below share one service per concern (a boot per case made this file slow on two cores); none of their
# refused requests stores anything, and the one that does (a chunked body under the limit) comes last.


async def test_a_body_the_json_parser_refuses_is_400_naming_the_body_on_every_route(
    client: httpx.AsyncClient,
) -> None:
    for path, headers in ROUTES:
        # bodies that break the parser itself ...
        for name, body in (("huge-integer", HUGE_INTEGER), ("deep-nesting", DEEP_NESTING)):
            assert len(body) < MAX_REQUEST_BYTES, name
            assert_names_the_body(await client.post(path, content=body, headers=headers), 400, (path, name))
        # ... and text that is not JSON
        for body in (b'{"id": ', b'"\xff\xfe"'):
            assert_names_the_body(await client.post(path, content=body, headers=headers), 400, (path, body))


async def chunks(total: int, size: int = 8_192) -> AsyncIterator[bytes]:
    """A body streamed in pieces: httpx sends it chunked, with no content-length to refuse it by."""
    yield b'{"id": "CP-1", "tag": "t", "name": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


async def test_the_byte_limit_holds_however_the_body_arrives(client: httpx.AsyncClient) -> None:
    # an oversized chunked body is 413 on every route
    for path, headers in ROUTES:
        response = await client.post(path, content=chunks(2 * MAX_REQUEST_BYTES), headers=headers)
        assert response.request.headers.get("content-length") is None, path
        assert_names_the_body(response, 413, path)
    # so is an oversized body with a content-length
    response = await client.post("/v1/checkpoints", content=b"x" * (MAX_REQUEST_BYTES + 1), headers=ORGANISER)
    assert_names_the_body(response, 413, "content-length")

    # a chunked body under the limit still goes through (last: it registers CP-1)
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b'{"id": "CP-1", ', b'"tag": "t-1", ', b'"name": "', "万松路口".encode(), b'"}'):
            yield piece

    response = await client.post("/v1/checkpoints", content=pieces(), headers=ORGANISER)
    assert response.request.headers.get("content-length") is None
    assert response.status_code == 201, response.text


async def test_every_answer_a_person_reads_is_chinese_first(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/checkpoints")
    assert missing.status_code == 401 and missing.json()["detail"] == "缺少令牌 (missing bearer token)"
    forged = await client.get("/v1/checkpoints", headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401 and forged.json()["detail"].startswith("令牌无效或已过期 (")
    role = await client.post("/v1/checkpoints", headers=DEVICE, json={"id": "CP-1", "tag": "t", "name": "n"})
    assert role.status_code == 403 and role.json()["detail"].startswith("角色 patrol_device 无权执行此操作 (role ")
    invalid = await client.post("/v1/checkpoints", headers=ORGANISER, json={"id": "CP-1", "name": "n", "x": 1})
    assert invalid.status_code == 422 and invalid.json()["detail"] == "请求无效 (request is invalid)"
    reasons = {e["field"]: e["reason"] for e in invalid.json()["errors"]}
    assert reasons["body.tag"] == "缺少必填项 (Field required)"
    assert reasons["body.x"].startswith("不认识的字段 (")
    nowhere = await client.get("/v1/nowhere", headers=ORGANISER)
    assert nowhere.status_code == 404 and nowhere.json()["detail"] == "不存在 (Not Found)"
    unknown = await client.post("/v1/scans", headers=DEVICE, json={
        "scan_id": "s-1", "member_id": "张三", "team_id": "一队", "checkpoint_id": "CP-404",
        "device_time": SAMPLE_TIME.isoformat()})
    assert unknown.json()["errors"][0]["reason"] == "没有检查点 CP-404 (unknown checkpoint CP-404)"

    # a 405 allows every method the path serves: GET and POST /v1/checkpoints are two routes, and Starlette's
    # 405 named only the first ("Allow: POST")
    response = await client.delete("/v1/checkpoints", headers=ORGANISER)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json() == {"detail": "不支持该请求方法 (Method Not Allowed)", "errors": []}

    # a boolean is not a coordinate: pydantic's lax mode read false as 0.0, a checkpoint at the equator that
    # nobody registered
    body = b'{"id": "CP-1", "tag": "t", "name": "n", "latitude": 27.7, "longitude": false}'
    response = await client.post("/v1/checkpoints", content=body, headers=ORGANISER)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.longitude"]


async def test_a_made_up_method_is_counted_as_other(service: Service, client: httpx.AsyncClient) -> None:
    # each spelling of an unknown method ("QUERY", "XYZ"…) became its own metric series: unbounded cardinality
    for method in ("QUERY", "XYZ1", "XYZ2"):
        await client.request(method, "/v1/checkpoints", headers=ORGANISER)
    metrics = await scrape(service)
    assert 'method="OTHER"' in metrics
    assert "XYZ1" not in metrics and "QUERY" not in metrics
