"""The console calls a real service as the signed-in person: roster in-process on its own loopback port, verifying
with the issuer's public keys (the session's JWKS, or fetched from the console's own /.well-known/jwks.json), the
console reaching it over HTTP. Refusals come back by field, a service away is the 503 page naming it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from console.bootstrap import bootstrap
from console.domain.audit import Actor
from console.services import ServiceRefused
from console.settings import ConsoleSettings
from console.web.forms import Form
from console.web.pages import Person, require
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from pingan_shared.auth import Role, SigningKey, TokenVerifier, issue_token
from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.embedded import free_port
from pingan_stack.test_tokens import session_signing_key
from pingan_stack.testing import serving_on_loopback
from roster.bootstrap import bootstrap as roster_bootstrap
from roster.settings import RosterSettings

from .conftest import START, Console

MakeConsole = Callable[..., Awaitable[Console]]


@contextlib.asynccontextmanager
async def roster_at(database_factory: Callable[..., Awaitable[str]], platform: PlatformSettings,
                    clock: FixedClock) -> AsyncIterator[str]:
    """Roster on a loopback port of its own (its database with the test city's directory); its base URL."""
    settings = RosterSettings(database_url=await database_factory(template="roster+directory"), http_port=0)
    async with serving_on_loopback(roster_bootstrap(platform=platform, settings=settings, clock=clock)) as url:
        yield url


def probe_router() -> APIRouter:
    """Pages a role-page module would have: a read of roster's directory, and a form whose refusal is placed."""
    router = APIRouter()
    Anyone = Depends(require())

    @router.get("/probe/directory")
    async def directory(person: Person = Anyone, limit: str = "5") -> Response:
        try:
            page = await person.services.get("roster", "/v1/directory/entries", params={"limit": limit})
        except ServiceRefused as refusal:
            form = Form(fields=("limit",), values={"limit": limit}).refused(refusal)
            return JSONResponse({"errors": form.errors, "general": form.general}, status_code=refusal.status)
        return JSONResponse({"codes": [entry["code"] for entry in page["items"]]})

    @router.get("/probe/patrol")
    async def patrol(person: Person = Anyone) -> Any:
        return await person.services.get("patrol", "/v1/checkpoints")

    return router


async def test_the_console_calls_a_service_with_a_short_lived_token_for_the_person(
        make_console: MakeConsole, database_factory: Callable[..., Awaitable[str]],
        platform_settings: PlatformSettings) -> None:
    clock = FixedClock(START)
    async with roster_at(database_factory, platform_settings, clock) as roster_url:
        console = await make_console(clock, roster_url=roster_url, patrol_url=f"http://127.0.0.1:{free_port()}")
        console.service.app.include_router(probe_router())
        member = await console.signed_in("zhang.san", "member", member_id="张三")
        read = await member.get("/probe/directory")
        assert read.status_code == 200, read.text
        assert read.json()["codes"][0] == "330381"  # the test city's directory, as roster holds it

        # the token: the person as the services know them, the role and scope, five minutes on the services' clock
        account = await console.ctx.accounts.get("zhang.san")
        token = console.ctx.minter.for_account(account)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["sub"] == "张三" and claims["role"] == "member"
        assert claims["exp"] - claims["iat"] == 300 and claims["iat"] == int(START.timestamp())
        principal = TokenVerifier.from_jwks(session_signing_key().jwks()).check(token, now=clock.now()).principal
        assert principal.subject == "张三" and principal.role is Role.MEMBER

        # a refusal comes back in the services' shape, placed by its field
        refused = await member.get("/probe/directory?limit=0")
        assert refused.status_code == 422
        assert list(refused.json()["errors"]) == ["limit"], refused.json()

        # a service that does not answer is the 503 page naming it
        away = await member.get("/probe/patrol")
        assert away.status_code == 503 and "巡逻服务" in away.text and "无法连接" in away.text
        assert away.headers["content-security-policy"].startswith("default-src 'self'")

        # and the admin's overview shows who answers and accepts the console's tokens
        admin = await console.signed_in("ops.admin", "admin")
        overview = (await admin.get("/admin/services")).text
        roster_row = overview.split("<code>roster</code>")[1].split("</tr>")[0]
        assert "就绪" in roster_row and "已接受" in roster_row
        patrol_row = overview.split("<code>patrol</code>")[1].split("</tr>")[0]
        assert "无法连接" in patrol_row


async def test_a_token_lives_five_minutes_of_the_services_clock(
        make_console: MakeConsole, database_factory: Callable[..., Awaitable[str]],
        platform_settings: PlatformSettings) -> None:
    """The console and roster share a clock: a token minted now and used six minutes later is refused."""
    clock = FixedClock(START)
    async with roster_at(database_factory, platform_settings, clock) as roster_url:
        console = await make_console(clock, roster_url=roster_url)
        await console.add_account("li.org", "organiser")
        caller = console.ctx.services.as_person(await console.ctx.accounts.get("li.org"))
        token = console.ctx.minter.for_account(await console.ctx.accounts.get("li.org"))
        client = console.ctx.services.client("roster")
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/v1/directory/entries", headers=headers)).status_code == 200
        clock.advance(timedelta(minutes=6, seconds=1))  # past the 60 s leeway
        assert (await client.get("/v1/directory/entries", headers=headers)).status_code == 401
        assert (await caller.get("roster", "/v1/directory/entries"))["items"] is not None  # a fresh one each call


async def test_a_service_can_verify_with_the_jwks_the_console_serves(
        database_factory: Callable[..., Awaitable[str]], platform_settings: PlatformSettings) -> None:
    """Roster configured with PINGAN_AUTH_JWKS_URL pointing at the console, and no key of its own."""
    clock = FixedClock(START)
    console_settings = ConsoleSettings(database_url=await database_factory(template="console"), http_port=0,
                                       cookie_secure=False, password_time_cost=1, password_memory_kib=8192,
                                       password_parallelism=1)
    console_service = bootstrap(platform=platform_settings, settings=console_settings, clock=clock)
    async with serving_on_loopback(console_service) as console_url:
        jwks_url = f"{console_url}/.well-known/jwks.json"
        fetching = platform_settings.model_copy(update={"pingan_auth_jwks": None, "pingan_auth_jwks_url": jwks_url})
        async with roster_at(database_factory, fetching, clock) as roster_url:
            ctx = console_service.app.state.console
            assert ctx.minter.key.kid == session_signing_key().kid  # the issuer's key the stack gave the console
            account = await ctx.accounts.create(Actor("test-setup", "127.0.0.1"), username="wu.ins",
                                                display_name="吴督查", role="inspector", scope={},
                                                password="correct horse battery")
            client = ctx.services.client("roster")
            token = ctx.minter.for_account(account)
            answer = await client.get(f"{roster_url}/v1/directory/entries",
                                      headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.text
            forged = await client.get(f"{roster_url}/v1/directory/entries", headers={
                "Authorization": "Bearer " + issue_token(SigningKey.generate(), role=Role.ADMIN, subject="x",
                                                         issued_at=clock.now())})
            assert forged.status_code == 401  # a key the console does not publish opens nothing
        await ctx.services.stop()


@pytest.mark.parametrize("path", ["/.well-known/jwks.json"])
async def test_the_jwks_is_public_and_holds_no_private_part(console: Console, path: str) -> None:
    answer = await console.browser().get(path)
    assert answer.status_code == 200
    keys = answer.json()["keys"]
    assert [(k["kty"], k["crv"], k["alg"], k["use"]) for k in keys] == [("OKP", "Ed25519", "EdDSA", "sig")]
    assert all("d" not in k for k in keys)
    assert keys[0]["kid"] == console.ctx.minter.key.kid


async def test_the_openapi_documents_the_json_endpoints_and_no_page(console: Console) -> None:
    document = (await console.browser().get("/openapi.json")).json()
    assert set(document["paths"]) == {"/.well-known/jwks.json", "/health", "/ready"}
    ready = await console.browser().get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "workers": "ok"}  # no broker
