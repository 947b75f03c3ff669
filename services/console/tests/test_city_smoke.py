"""The city stack the journeys run on, and the attacks a browser allows on the console itself.

The console signs a person in over a real port and calls each of the four services as that person over real HTTP
(the services page lists them all ready). Then, in Chromium: a post from the console's own origin with the session
cookie but without the CSRF token is refused and changes nothing, and the content security policy holds (a page
carries no inline script, and one injected into a page is blocked). The session cookie out of scripts' reach and a
form another site posts: test_frame_browser.py; what a unit can and cannot reach: test_inspection_journey.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from console.accounts import AccountBook
from playwright.async_api import Page, expect

from pingan_shared.clock import FixedClock
from pingan_shared.refused import NotFound
from pingan_stack.test_databases import TestDatabases

from .city import SERVICES, City, running_city, sign_in

pytestmark = pytest.mark.browser
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def city(test_databases: TestDatabases, kafka_bootstrap_servers: str) -> AsyncIterator[City]:
    async with running_city(test_databases, kafka_bootstrap_servers, FixedClock(START)) as running:
        await running.add_account("ops", "admin", display_name="运维值班员")
        yield running


async def test_an_admin_signs_in_and_sees_every_service_ready(city: City, page: Page) -> None:
    await sign_in(page, city, "ops")
    await expect(page.locator("body")).to_contain_text("运维值班员")
    await page.goto(f"{city.url}/admin/services")
    for name in SERVICES:
        await expect(page.locator("body")).to_contain_text(name)
    assert "ready" in (await page.content()).lower() or "就绪" in await page.content()


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(city: City, page: Page) -> None:
    # the signed-in browser's own cookies, from the console's own origin: the CSRF token alone is missing (the
    # console's pages send it with every change; a script in the page could read it, which the CSP is there for)
    await sign_in(page, city, "ops")
    answer = await page.context.request.post(
        f"{city.url}/admin/accounts/new", headers={"Origin": city.url}, max_redirects=0,
        form={"username": "intruder", "display_name": "x", "role": "admin", "password": "a long enough passphrase 42"})
    assert answer.status == 403
    accounts: AccountBook = city.console.accounts
    with pytest.raises(NotFound):
        await accounts.get("intruder")
    # the same request with the page's token goes through: the cookies were sent, the token alone was missing
    token = await page.get_attribute("body", "data-csrf-token")
    assert token
    made = await page.context.request.post(
        f"{city.url}/admin/accounts/new", headers={"Origin": city.url}, max_redirects=0,
        form={"username": "control.admin", "display_name": "x", "role": "admin",
              "password": "a long enough passphrase 42", "csrf_token": token})
    assert made.status == 303
    assert (await accounts.get("control.admin")).role.value == "admin"


async def test_no_inline_script_runs_on_a_console_page(city: City, page: Page) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    await sign_in(page, city, "ops")
    await page.goto(f"{city.url}/admin/accounts")
    assert await page.locator("script:not([src]):not([type='application/json'])").count() == 0
    # a script smuggled into the page (as an injection would) is blocked by the policy, not run
    await page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__injected = true";
        document.body.appendChild(s);
    }""")
    await asyncio.sleep(0.2)
    assert await page.evaluate("window.__injected === undefined")
    assert any("script" in v.lower() for v in violations), violations
