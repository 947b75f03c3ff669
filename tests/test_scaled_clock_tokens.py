"""Tokens over a running service whose clock is compressed (PINGAN_CLOCK_SCALE with PINGAN_CLOCK_EPOCH):
one minted by `pingan token issue` with the same settings works, and a malformed claim is a 401, never a 500."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from pingan_shared.settings import PlatformSettings
from pingan_stack.cli import app as pingan_cli
from pingan_stack.test_tokens import session_signed
from pingan_stack.testing import running_service


@pytest.fixture
def scaled_settings(platform_settings: PlatformSettings, monkeypatch: pytest.MonkeyPatch) -> PlatformSettings:
    """Time at 60x since an hour ago: the services' "now" is some 59 hours ahead of the wall clock."""
    epoch = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    monkeypatch.setenv("PINGAN_CLOCK_SCALE", "60")
    monkeypatch.setenv("PINGAN_CLOCK_EPOCH", epoch)
    return platform_settings.model_copy(update={"pingan_clock_scale": 60.0,
                                                "pingan_clock_epoch": datetime.fromisoformat(epoch)})


def _cli_token(*args: str) -> str:
    result = CliRunner().invoke(pingan_cli, ["token", "issue", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def _signed(now_at: datetime, **claims: object) -> str:
    """Signed with the issuer's key (the session's, which `pingan token issue` reads from
    PINGAN_AUTH_SIGNING_KEY_FILE too) and valid at ``now_at`` but for ``claims`` (jwt.encode refuses some)."""
    now = int(now_at.timestamp())
    return session_signed({"iss": "pingan", "sub": "x", "role": "admin", "iat": now, "exp": now + 3600, **claims})


async def test_cli_tokens_work_under_a_scaled_clock_and_bad_claims_are_401(
    scaled_settings: PlatformSettings, database_factory: Callable[[], Awaitable[str]]
) -> None:
    from patrol.bootstrap import bootstrap
    from patrol.settings import PatrolSettings

    service = bootstrap(platform=scaled_settings, settings=PatrolSettings(database_url=await database_factory()))
    assert service.runtime.clock.now() > datetime.now(UTC) + timedelta(hours=50)  # the clock really is scaled
    organiser = _cli_token("--role", "organiser", "--subject", "平安办")
    async with running_service(service) as client:
        listed = await client.get("/v1/checkpoints", headers={"Authorization": f"Bearer {organiser}"})
        assert listed.status_code == 200, listed.text
        well_formed = _signed(service.runtime.clock.now())
        accepted = await client.get("/v1/checkpoints", headers={"Authorization": f"Bearer {well_formed}"})
        assert accepted.status_code == 200, accepted.text
        for claims in ({"exp": "soon"}, {"exp": [1]}, {"iat": "x"}, {"sub": ["a"]}, {"exp": float("nan")}):
            token = _signed(service.runtime.clock.now(), **claims)
            refused = await client.get("/v1/checkpoints", headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 401, (claims, refused.status_code, refused.text)
