"""Fixtures for the console's tests: the console in-process on a fresh database (its migrated template), a
``FixedClock`` the test moves (sessions, the throttle and tokens all read it), and browsers: cookie-keeping HTTP
clients that send the ``Origin`` a browser would, from a client address of the test's choosing.

The tokens the console mints are signed with the test session's key (``pingan_stack.test_tokens``), which every
service built in-process verifies with: a console call to a service started in the same test is accepted.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest
from console.bootstrap import bootstrap
from console.context import ConsoleContext
from console.domain.accounts import Account
from console.domain.audit import Actor
from console.settings import ConsoleSettings

from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import ServiceHarness, harnesses

ORIGIN = "http://console.test"
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
PASSWORD = "correct horse battery"  # passes the policy
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its forms (as a browser would submit it)."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Browser:
    """One browser: its cookies, its address, the Origin it sends with every request (as browsers do on a form
    post; a test changes it to play another site)."""

    def __init__(self, app: Any, *, address: str, origin: str | None, base_url: str = ORIGIN) -> None:
        headers = {"Origin": origin} if origin else {}
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                                        base_url=base_url, headers=headers, follow_redirects=False)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, **kwargs)

    async def csrf(self, path: str = "/") -> str:
        """The CSRF token of the page at ``path``."""
        page = await self.get(path)
        assert page.status_code == 200, page.text[:500]
        return csrf_of(page.text)

    async def submit(self, path: str, data: Mapping[str, str], *, page: str | None = None) -> httpx.Response:
        """Post ``data`` to ``path`` with the CSRF token of ``page`` (default: ``path`` itself), as the form would."""
        token = await self.csrf(page or path)
        return await self.post(path, data={**data, "csrf_token": token})

    async def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        token = await self.csrf("/signin")
        return await self.post("/signin", data={"username": username, "password": password, "csrf_token": token,
                                                "next": "/"})

    def cookie(self, name: str) -> str | None:
        return self.client.cookies.get(name)

    async def close(self) -> None:
        await self.client.aclose()


class Console(ServiceHarness[ConsoleContext]):
    """The console in-process, its clock, its database, and its browsers."""

    state_attribute = "console"
    # Cheap argon2 for speed (the tests of hashing set their own); plain-http cookies (the browsers are http://).
    defaults: ClassVar[Mapping[str, Any]] = {
        "cookie_secure": False,
        "password_time_cost": 1, "password_memory_kib": 8192, "password_parallelism": 1,
    }

    def __init__(self, database_url: str, platform: PlatformSettings, clock: FixedClock, **settings: Any) -> None:
        self.transports: dict[str, httpx.AsyncBaseTransport] = settings.pop("transports", {})
        super().__init__(database_url, platform, clock, **settings)
        self._browsers: list[Browser] = []

    def build(self) -> Service:
        settings = ConsoleSettings(database_url=self.database_url, **self.settings)
        return bootstrap(platform=self.platform, settings=settings, clock=self.clock, transports=self.transports)

    async def stop(self) -> None:
        for browser in self._browsers:
            await browser.close()
        self._browsers.clear()
        if self._service is not None:
            await self.ctx.services.stop()
        await super().stop()

    def browser(self, *, address: str = "192.0.2.10", origin: str | None = ORIGIN, https: bool = False) -> Browser:
        """A new browser; ``https``: it opens the console as https://console.test (and says so as its Origin),
        so Secure cookies come back."""
        base = ORIGIN.replace("http://", "https://") if https else ORIGIN
        browser = Browser(self.service.app, address=address, origin=base if https and origin == ORIGIN else origin,
                          base_url=base)
        self._browsers.append(browser)
        return browser

    async def add_account(self, username: str, role: str, *, password: str = PASSWORD,
                          display_name: str | None = None, **scope: str) -> Account:
        return await self.ctx.accounts.create(Actor("test-setup", "127.0.0.1"), username=username,
                                              display_name=display_name or f"测试{username}", role=role,
                                              scope=scope, password=password)

    async def signed_in(self, username: str, role: str = "admin", *, address: str = "192.0.2.10",
                        **scope: str) -> Browser:
        """A browser signed in as a new account ``username`` of ``role``."""
        await self.add_account(username, role, **scope)
        browser = self.browser(address=address)
        answer = await browser.sign_in(username)
        assert answer.status_code == 303, answer.text[:500]
        return browser

    async def audit(self, kind: str | None = None) -> list[dict[str, Any]]:
        async with self.db() as conn:
            rows = await conn.fetch("SELECT kind, actor, account, address, detail::text AS detail FROM audit "
                                    "WHERE $1::text IS NULL OR kind = $1 ORDER BY id", kind)
        return [dict(r) for r in rows]


@pytest.fixture
async def make_console(database_factory: Callable[..., Awaitable[str]],
                       platform_settings: PlatformSettings) -> AsyncIterator[Callable[..., Awaitable[Console]]]:
    async with harnesses(Console, database_factory, platform_settings) as make:
        yield make


@pytest.fixture
async def console(make_console: Callable[..., Awaitable[Console]]) -> Console:
    return await make_console(FixedClock(START))
