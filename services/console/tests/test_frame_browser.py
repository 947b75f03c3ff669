"""The frame in a real Chromium (the console alone, served on a loopback port): signing in on a phone-sized screen,
the menu folded behind its button, no sideways scrolling, no script able to read the session cookie, not one
content-security-policy violation on the frame's pages in either language, and a form another site posts — with a
leaked CSRF token even — refused."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from console.bootstrap import bootstrap
from console.domain.audit import Actor
from console.settings import ConsoleSettings
from playwright.async_api import Page, expect

from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.browser_testing import ContextFactory
from pingan_stack.testing import serving_on_loopback

from .conftest import PASSWORD, START

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# Every violation of the page's content security policy, seen by a listener the browser installs before any page
# script runs (an init script is not subject to the page's policy).
WATCH_POLICY = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


@pytest.fixture
async def console_site(database_factory: Callable[..., Awaitable[str]],
                       platform_settings: PlatformSettings) -> AsyncIterator[tuple[str, Service]]:
    settings = ConsoleSettings(database_url=await database_factory(template="console"), http_port=0,
                               cookie_secure=False, password_time_cost=1, password_memory_kib=8192,
                               password_parallelism=1)
    service = bootstrap(platform=platform_settings, settings=settings, clock=FixedClock(START))
    async with serving_on_loopback(service) as url:
        ctx = service.app.state.console
        await ctx.accounts.create(Actor("test-setup", "127.0.0.1"), username="frame.admin", display_name="框架管理员",
                                  role="admin", scope={}, password=PASSWORD)
        yield url, service
        await ctx.services.stop()


@contextlib.contextmanager
def another_site(html: Callable[[], str]) -> Iterator[str]:
    """A page of another origin (localhost rather than 127.0.0.1), as an attacker's site would serve it."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            body = html().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def sign_in(page: Page, url: str) -> None:
    await page.goto(f"{url}/signin")
    await page.fill("#f-username", "frame.admin")
    await page.fill("#f-password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator(".who strong")).to_have_text("框架管理员")


async def fits_the_screen(page: Page) -> None:
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide"


async def test_the_frame_on_a_phone_signs_in_folds_its_menu_and_breaks_no_policy(
        console_site: tuple[str, Service], new_context: ContextFactory) -> None:
    url, _ = console_site
    context = await new_context(**PHONE)
    await context.add_init_script(WATCH_POLICY)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    await page.goto(f"{url}/admin/accounts")  # not signed in: sent to sign in, and back after
    assert "/signin?next=" in page.url
    await expect(page.locator("h2")).to_have_text("登录")
    await fits_the_screen(page)
    await page.fill("#f-username", "frame.admin")
    await page.fill("#f-password", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("h1")).to_have_text("账号管理")
    assert page.url == f"{url}/admin/accounts"

    # the session cookie is there, and no script can read it
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["pingan_session"]["httpOnly"] and cookies["pingan_session"]["sameSite"] == "Lax"
    assert "pingan_session" not in await page.evaluate("document.cookie")

    # the menu is folded behind its button on a phone
    menu = page.locator("#menu")
    await expect(menu).to_be_hidden()
    await page.click(".menu-toggle")
    await expect(menu).to_be_visible()
    await expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")
    await page.click("#menu >> text=审计日志")
    await expect(page.locator("h1")).to_have_text("审计日志")

    for path in ("/", "/admin/accounts/new", "/admin/accounts/frame.admin", "/admin/services", "/no/such/page"):
        await page.goto(f"{url}{path}")
        await fits_the_screen(page)
    await page.click(".lang-switch")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("h1")).to_have_text("No such page")
    await page.goto(f"{url}/admin/audit")
    await expect(page.locator("h1")).to_have_text("Audit trail")
    await fits_the_screen(page)

    assert await page.evaluate("window.__violations") == []
    # the only errors: the 404 page asked for above, and the services the console alone cannot reach
    assert [e for e in errors if "404" not in e and "503" not in e] == []

    await page.click(".menu-toggle")
    await page.click("button:has-text('Sign out')")
    await expect(page.locator(".notice")).to_have_text("You have signed out.")
    assert "pingan_session" not in {c["name"] for c in await context.cookies()}


async def test_a_form_another_site_posts_is_refused_even_with_the_token(
        console_site: tuple[str, Service], page: Page) -> None:
    url, service = console_site
    await sign_in(page, url)
    await page.goto(f"{url}/admin/accounts/new")
    leaked = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert leaked
    # the attacker's page posts an account of its own, with the leaked token, as soon as it loads
    attack = f"""<!doctype html><form method="post" action="{url}/admin/accounts/new">
      <input name="csrf_token" value="{leaked}"><input name="username" value="intruder">
      <input name="display_name" value="x"><input name="role" value="admin">
      <input name="password" value="correct horse battery"></form>
      <script>document.forms[0].submit()</script>"""
    with another_site(lambda: attack) as evil:
        await page.goto(evil)
        await expect(page.locator("h1")).to_have_text("拒绝来自其他网站的请求")
    assert page.url == f"{url}/admin/accounts/new"
    async with service.runtime.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username = 'intruder'") == 0
    # the same form from the console's own page goes through
    await page.goto(f"{url}/admin/accounts/new")
    await page.fill("#f-username", "insider")
    await page.fill("#f-display_name", "内部人员")
    await page.fill("#f-password", "correct horse battery")
    await page.click("main button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("账号已创建。")
