"""What protects every page: CSRF tokens and the same-origin check on every change, the security headers and the
content security policy on every answer, pages kept to their roles, and templates without inline script or style."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from .conftest import ORIGIN, Console

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
          "font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


def assert_protected(answer: object) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == POLICY, answer
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


async def test_every_answer_carries_the_security_headers(console: Console) -> None:
    stranger = console.browser()
    admin = await console.signed_in("he.admin", "admin")
    answers = [
        await stranger.get("/signin"), await stranger.get("/"), await stranger.get("/no/such/page"),
        await stranger.get("/static/console.css"), await stranger.get("/static/vendor/htmx/htmx.min.js"),
        await stranger.get("/health"), await stranger.get("/ready"), await stranger.get("/.well-known/jwks.json"),
        await stranger.post("/signin", data={"username": "x"}),  # refused: no token
        await admin.get("/"), await admin.get("/admin/accounts"), await admin.get("/admin/accounts/nobody"),
        await admin.get("/admin/accounts?format=csv"), await admin.get("/lang/en"),
    ]
    for answer in answers:
        assert_protected(answer)
    pages = [a for a in answers if a.headers.get("content-type", "").startswith("text/html")]
    assert len(pages) >= 6
    for page in pages:
        assert page.headers["cache-control"] == "no-store"
    assert "no-store" not in answers[3].headers.get("cache-control", "")  # static files may be cached


async def test_a_change_without_the_csrf_token_or_with_another_is_refused(console: Console) -> None:
    admin = await console.signed_in("csrf.admin", "admin")
    create = {"username": "new.one", "display_name": "新人", "role": "organiser", "password": "correct horse battery"}
    missing = await admin.post("/admin/accounts/new", data=create)
    wrong = await admin.post("/admin/accounts/new", data={**create, "csrf_token": "x" * 43})
    other = await console.signed_in("csrf.other", "admin", address="192.0.2.11")
    borrowed = await admin.post("/admin/accounts/new", data={**create, "csrf_token": await other.csrf()})
    for answer in (missing, wrong, borrowed):
        assert answer.status_code == 403 and "安全校验" in answer.text
        assert_protected(answer)
    async with console.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username = 'new.one'") == 0
    by_header = await admin.post("/admin/accounts/new", data=create,
                                 headers={"X-CSRF-Token": await admin.csrf()})  # as htmx sends it
    assert by_header.status_code == 303


async def test_a_cross_site_form_post_is_refused_even_with_the_token(console: Console) -> None:
    admin = await console.signed_in("xs.admin", "admin")
    token = await admin.csrf()
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Origin": "", "Referer": "https://evil.example/page"}):
        answer = await admin.post("/signout", data={"csrf_token": token}, headers=headers)
        assert answer.status_code == 403 and "其他网站" in answer.text, headers
    no_origin = console.browser(origin=None)
    no_origin.client.cookies = admin.client.cookies
    assert (await no_origin.post("/signout", data={"csrf_token": token})).status_code == 403
    same_site_referer = await no_origin.post("/signout", data={"csrf_token": token},
                                             headers={"Referer": f"{ORIGIN}/admin/accounts"})
    assert same_site_referer.status_code == 303  # a browser that sends only Referer, from this console


async def test_the_sign_in_form_has_its_own_token(console: Console) -> None:
    await console.add_account("form.user", "admin")
    browser = console.browser()
    assert (await browser.post("/signin", data={"username": "form.user", "password": "correct horse battery"})
            ).status_code == 403
    await browser.get("/signin")
    stale = await browser.post("/signin", data={"username": "form.user", "password": "correct horse battery",
                                                "csrf_token": "guessed"})
    assert stale.status_code == 403
    assert (await browser.sign_in("form.user")).status_code == 303


@pytest.mark.parametrize("path", ["/admin/accounts", "/admin/accounts/new", "/admin/audit", "/admin/services"])
async def test_an_admin_page_is_refused_to_other_roles_and_sends_strangers_to_sign_in(console: Console,
                                                                                      path: str) -> None:
    organiser = await console.signed_in(f"org{len(path)}", "organiser")
    refused = await organiser.get(path)
    assert refused.status_code == 403 and "您没有权限查看此页面" in refused.text
    assert "平安办组织者" in refused.text  # the frame still shows who is signed in
    stranger = await console.browser().get(path)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/signin?next=")
    htmx = await console.browser().get(path, headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/signin?next=")


async def test_an_admin_post_is_refused_to_another_role(console: Console) -> None:
    unit = await console.signed_in("unit.tx", "unit", unit_id="TX")
    answer = await unit.submit("/admin/accounts/new", {"username": "sneaky", "display_name": "x", "role": "admin",
                                                       "password": "correct horse battery"}, page="/")
    assert answer.status_code == 403
    async with console.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username = 'sneaky'") == 0


async def test_text_is_escaped_wherever_it_is_shown(console: Console) -> None:
    await console.add_account("xss.person", "organiser", display_name="<script>alert(1)</script>")
    admin = await console.signed_in("xss.admin", "admin")
    for path in ("/admin/accounts", "/admin/accounts/xss.person"):
        page = await admin.get(path)
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path


def _templates() -> list[tuple[str, str]]:
    root = resources.files("console").joinpath("templates")
    found: list[tuple[str, str]] = []

    def walk(folder: object, prefix: str) -> None:
        for entry in folder.iterdir():  # type: ignore[attr-defined]
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".html"):
                found.append((prefix + entry.name, entry.read_text(encoding="utf-8")))

    walk(root, "")
    return found


def test_no_template_has_an_inline_script_handler_or_style() -> None:
    templates = _templates()
    assert len(templates) >= 8
    for name, text in templates:
        for tag in re.findall(r"<script\b[^>]*>", text, re.IGNORECASE):
            # a file of the console's, or data (a chart's options as JSON), which no browser runs
            assert "src=" in tag or 'type="application/json"' in tag, f"{name}: inline script {tag}"
        assert not re.search(r"<style\b", text, re.IGNORECASE), f"{name}: a <style> element"
        assert not re.search(r"\sstyle\s*=", text, re.IGNORECASE), f"{name}: a style attribute"
        assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), f"{name}: an inline event handler"
        assert "hx-on" not in text and "javascript:" not in text.lower(), name


async def test_the_frame_says_htmx_to_inject_no_style_and_sends_the_token(console: Console) -> None:
    admin = await console.signed_in("frame.admin", "admin")
    page = (await admin.get("/")).text
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false""" in page
    token = await admin.csrf()
    assert f"""hx-headers='{{"X-CSRF-Token": "{token}"}}'""" in page
