"""The city stack the journeys run on, and the attacks a browser allows on the console itself.

The console signs a person in over a real port and calls each of the four services as that person over real HTTP
(the services page lists them all ready). Then, in Chromium: the session cookie is not readable by the page's
scripts, a form posted from another site is refused and changes nothing (the session cookie is SameSite, and the
CSRF token and origin check refuse it even where a browser sends the cookie), and the content security policy holds
(no inline script runs: a page carries none, and one injected into a page is blocked). The 211 journey covers what a
unit can and cannot reach (test_inspection_journey.py)."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import threading
from collections.abc import AsyncIterator, Iterator
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


@contextlib.contextmanager
def other_site(html: str) -> Iterator[str]:
    """A page of another site (``localhost``: another host than the console's 127.0.0.1, hence another site),
    served from a thread; yields its URL."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


async def test_an_admin_signs_in_and_sees_every_service_ready(city: City, page: Page) -> None:
    await sign_in(page, city, "ops")
    await expect(page.locator("body")).to_contain_text("运维值班员")
    await page.goto(f"{city.url}/admin/services")
    for name in SERVICES:
        await expect(page.locator("body")).to_contain_text(name)
    assert "ready" in (await page.content()).lower() or "就绪" in await page.content()


async def test_the_session_cookie_is_out_of_the_pages_scripts_reach(city: City, page: Page) -> None:
    await sign_in(page, city, "ops")
    cookies = {c["name"]: c for c in await page.context.cookies(city.url)}
    session = cookies["pingan_session"]
    assert session["httpOnly"] and session["sameSite"] in ("Lax", "Strict")
    readable = await page.evaluate("document.cookie")
    assert "pingan_session" not in readable and session["value"] not in readable


async def test_a_form_posted_from_another_site_is_refused_and_changes_nothing(city: City, page: Page) -> None:
    await sign_in(page, city, "ops")
    forged = f"""<!doctype html><html><body>
      <form id="f" method="post" action="{city.url}/admin/accounts/new">
        <input name="username" value="intruder"><input name="display_name" value="入侵者">
        <input name="role" value="admin"><input name="password" value="a long enough passphrase 42">
      </form>
      <script>document.getElementById("f").submit()</script></body></html>"""
    with other_site(forged) as evil:
        async with page.expect_response(lambda r: r.url.startswith(f"{city.url}/admin/accounts/new")) as posted:
            await page.goto(evil)
        answer = await posted.value
        # refused: the CSRF check (403), or the cookie was not sent at all (to the sign-in page)
        assert answer.status == 403 or (answer.status == 303 and "/signin" in (answer.headers.get("location") or ""))
    accounts: AccountBook = city.console.accounts
    with pytest.raises(NotFound):
        await accounts.get("intruder")
    # the same form from a page of the console's own origin, with the cookie sent, but no CSRF token: also 403
    status = await page.evaluate(
        """async (url) => {
            const body = new URLSearchParams({username: "intruder2", display_name: "x", role: "admin",
                                              password: "a long enough passphrase 42"});
            const answer = await fetch(url, {method: "POST", body, credentials: "include", redirect: "manual"});
            return answer.status;
        }""", f"{city.url}/admin/accounts/new")
    assert status == 403
    with pytest.raises(NotFound):
        await accounts.get("intruder2")


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
