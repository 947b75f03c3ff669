"""Token time claims over a running service: a token signed with the issuer's key whose exp, iat or nbf lies
outside the calendar (an exp of 1e300 or 2**70 never expires; an iat before 1970) or that expires before it
was issued is a 401 naming Authorization, on an ordinary route and on the stream-ticket route alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from patrol.bootstrap import bootstrap
from patrol.live.settings import LiveCoverageSettings
from patrol.settings import PatrolSettings
from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.test_tokens import session_signed
from pingan_stack.testing import SAMPLE_TIME, running_service

NOW = int(SAMPLE_TIME.timestamp())


def signed(**claims: object) -> dict[str, str]:
    """An admin's token signed with the session's issuer key, valid at SAMPLE_TIME but for ``claims`` (jwt.encode
    would refuse some of them; an issuer holding the key would not)."""
    payload = {"iss": "pingan", "sub": "平安办管理员", "role": "admin", "iat": NOW, "exp": NOW + 3600, **claims}
    return {"Authorization": f"Bearer {session_signed(payload)}"}


@pytest.fixture
async def patrol(database_url: str, platform_settings: PlatformSettings) -> AsyncIterator[httpx.AsyncClient]:
    service = bootstrap(platform=platform_settings, settings=PatrolSettings(database_url=database_url),
                        clock=FixedClock(SAMPLE_TIME), live=LiveCoverageSettings(enabled=False))
    async with running_service(service) as client:
        yield client


OUT_OF_RANGE: list[tuple[str, object]] = [("exp", 1e300), ("exp", 2**70), ("iat", -5), ("nbf", 1e300)]


@pytest.mark.parametrize("path", ["/v1/checkpoints", "/v1/stream-tickets"])
async def test_time_claims_outside_the_calendar_are_401_naming_authorization(
    patrol: httpx.AsyncClient, path: str,
) -> None:
    method = "POST" if path == "/v1/stream-tickets" else "GET"
    accepted = await patrol.request(method, path, headers=signed())
    assert accepted.status_code in (200, 201), accepted.text  # the same token with sane times is accepted
    for name, value in OUT_OF_RANGE:
        response = await patrol.request(method, path, headers=signed(**{name: value}))
        assert response.status_code == 401, (name, value, response.text)
        body = response.json()
        assert body["errors"] == [{"field": "Authorization", "reason": body["detail"]}], body
        assert f"{name} must be a time between 1970-01-01 and 9999-12-31T23:59:59Z" in body["detail"], body
    # expired half a minute before it was issued: within the clock-skew leeway it passed as just expired
    backwards = await patrol.request(method, path, headers=signed(iat=NOW, exp=NOW - 30))
    assert backwards.status_code == 401, backwards.text
    assert backwards.json()["errors"][0]["field"] == "Authorization"
    assert "exp is before iat" in backwards.json()["detail"]


async def test_the_last_second_of_the_calendar_is_still_a_valid_expiry(patrol: httpx.AsyncClient) -> None:
    last = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
    response = await patrol.get("/v1/checkpoints", headers=signed(exp=last))
    assert response.status_code == 200, response.text
    assert (await patrol.get("/v1/checkpoints", headers=signed(exp=last + 1))).status_code == 401
