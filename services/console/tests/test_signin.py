"""Signing in and out over the real database: the session cookie, failures and the throttle, expiry, the audit."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from console.domain.audit import Actor
from console.domain.sessions import id_hash

from pingan_shared.clock import FixedClock

from .conftest import PASSWORD, START, Console

MakeConsole = Callable[..., Awaitable[Console]]


async def test_a_person_signs_in_sees_their_frame_and_signs_out(console: Console) -> None:
    await console.add_account("zhang.admin", "admin", display_name="张管理")
    browser = console.browser()
    signin = await browser.get("/signin")
    assert signin.status_code == 200 and "登录" in signin.text and "用户名" in signin.text

    answer = await browser.sign_in("zhang.admin")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    home = await browser.get("/")
    assert home.status_code == 200
    assert "张管理" in home.text and "系统管理员" in home.text and "账号管理" in home.text

    token = await browser.csrf("/")
    out = await browser.post("/signout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"].startswith("/signin")
    assert browser.cookie("pingan_session") is None
    again = await browser.get("/")
    assert again.status_code == 303 and again.headers["location"] == "/signin"
    kinds = [row["kind"] for row in await console.audit()]
    assert kinds == ["account_created", "signin", "signout"]


async def test_a_wrong_password_and_an_unknown_name_get_the_same_answer_and_are_audited(console: Console) -> None:
    await console.add_account("li.si", "organiser")
    browser = console.browser()
    wrong = await browser.sign_in("li.si", "not the password")
    unknown = await browser.sign_in("nobody.here", "not the password")
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "用户名或密码错误 (wrong user name or password)" in answer.text
        assert browser.cookie("pingan_session") is None
    assert 'value="li.si"' in wrong.text and "not the password" not in wrong.text  # the name kept, never the password
    failed = await console.audit("signin_failed")
    assert [(r["account"], r["address"], json.loads(r["detail"])["reason"]) for r in failed] == [
        ("li.si", "192.0.2.10", "bad_password"), ("nobody.here", "192.0.2.10", "unknown_account")]


async def test_five_failures_lock_the_account_from_any_address_until_the_time_it_names(console: Console) -> None:
    await console.add_account("wang.wu", "inspector")
    for attempt in range(5):
        answer = await console.browser(address=f"198.51.100.{attempt}").sign_in("wang.wu", "wrong password")
        assert answer.status_code == 401
        await console.advance(timedelta(minutes=1))
    # 09:05 now: the first failure (09:00) leaves the 15-minute window at 09:15
    locked = await console.browser(address="203.0.113.7").sign_in("wang.wu")  # the right password, elsewhere
    assert locked.status_code == 429
    assert "尝试次数过多，请在 09:15 后再试 (too many attempts; try again after 09:15)" in locked.text
    assert json.loads((await console.audit("signin_failed"))[-1]["detail"])["reason"] == "locked"
    await console.advance(timedelta(minutes=10))  # 09:15
    opened = await console.browser(address="203.0.113.7").sign_in("wang.wu")
    assert opened.status_code == 303
    # a success starts the account's count again
    async with console.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM signin_failures WHERE username = 'wang.wu'") == 0


async def test_twenty_failures_from_one_address_lock_that_address_for_every_name(console: Console) -> None:
    await console.add_account("zhao.liu", "unit", unit_id="TX")
    guesser = console.browser(address="198.51.100.66")
    for attempt in range(20):
        answer = await guesser.sign_in(f"guess{attempt}", "wrong password")
        assert answer.status_code == 401
    blocked = await guesser.sign_in("zhao.liu")
    assert blocked.status_code == 429 and "09:15" in blocked.text
    elsewhere = await console.browser(address="198.51.100.67").sign_in("zhao.liu")
    assert elsewhere.status_code == 303  # the account itself was never the target


async def test_a_session_ends_after_thirty_idle_minutes(console: Console) -> None:
    browser = await console.signed_in("chen.qi", "organiser")
    await console.advance(timedelta(minutes=29))
    assert (await browser.get("/")).status_code == 200  # used: the idle time starts again
    await console.advance(timedelta(minutes=29))
    assert (await browser.get("/")).status_code == 200
    await console.advance(timedelta(minutes=30))
    expired = await browser.get("/admin/services")
    assert expired.status_code == 303 and expired.headers["location"] == "/signin?next=%2Fadmin%2Fservices"
    async with console.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0  # the expired session is gone


async def test_a_session_ends_twelve_hours_after_sign_in_however_busy(console: Console) -> None:
    browser = await console.signed_in("zhou.ba", "supervisor", scope="330381102000")
    for _ in range(24):
        await console.advance(timedelta(minutes=29, seconds=59))
        assert (await browser.get("/")).status_code == 200
    await console.advance(timedelta(seconds=25))  # 12 h after sign-in
    assert (await browser.get("/")).status_code == 303


async def test_the_session_cookie_is_http_only_same_site_lax_secure_and_its_id_is_stored_hashed(
        make_console: MakeConsole) -> None:
    console = await make_console(FixedClock(START), cookie_secure=None)
    await console.add_account("wu.jiu", "admin")
    browser = console.browser(https=True)
    answer = await browser.sign_in("wu.jiu")
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("pingan_session="))
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert {"httponly", "samesite=lax", "path=/", "secure"} <= set(attributes), cookie  # PINGAN_ENV=test: not dev
    assert not any(a.startswith(("max-age", "expires")) for a in attributes)  # the server ends sessions
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert (await browser.get("/")).status_code == 200  # over https the browser sends it back
    async with console.db() as conn:
        stored = await conn.fetch("SELECT id_hash FROM sessions")
        assert [bytes(r["id_hash"]) for r in stored] == [id_hash(session_id)]
        everything = await conn.fetchval("SELECT string_agg(t::text, ' ') FROM sessions t")
    assert session_id not in everything


async def test_the_password_is_stored_only_as_an_argon2id_hash_and_rehashed_when_the_cost_rises(
        make_console: MakeConsole) -> None:
    console = await make_console(FixedClock(START))
    await console.add_account("sun.shi", "inspector")
    async with console.db() as conn:
        first = await conn.fetchval("SELECT password_hash FROM accounts WHERE username = 'sun.shi'")
        dump = await conn.fetchval("SELECT string_agg(t::text, ' ') FROM accounts t")
    assert first.startswith("$argon2id$v=19$m=8192,t=1,p=1$") and PASSWORD not in dump
    await console.stop()
    stronger = await make_console(console.clock, twin_of=console, password_time_cost=2,
                                  password_memory_kib=16384)
    assert (await stronger.browser().sign_in("sun.shi")).status_code == 303
    async with stronger.db() as conn:
        second = await conn.fetchval("SELECT password_hash FROM accounts WHERE username = 'sun.shi'")
    assert second.startswith("$argon2id$v=19$m=16384,t=2,p=1$")
    assert (await stronger.browser().sign_in("sun.shi")).status_code == 303  # the new hash verifies


async def test_a_disabled_account_cannot_sign_in_and_says_so_only_to_who_knows_the_password(console: Console) -> None:
    await console.add_account("qian.yi", "organiser")
    await console.ctx.accounts.set_disabled(Actor("boss", "127.0.0.1"), "qian.yi", True)
    guess = await console.browser().sign_in("qian.yi", "wrong password")
    assert guess.status_code == 401 and "停用" not in guess.text
    right = await console.browser().sign_in("qian.yi")
    assert right.status_code == 401 and "账号已停用" in right.text


async def test_a_signed_in_visit_to_the_sign_in_page_goes_on_to_where_it_was_going(console: Console) -> None:
    browser = await console.signed_in("lin.er", "admin")
    answer = await browser.get("/signin?next=/admin/accounts")
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/accounts"
    off_site = await browser.get("/signin?next=//evil.example/")
    assert off_site.headers["location"] == "/"


async def test_housekeeping_deletes_expired_sessions_and_failures_past_the_window(console: Console) -> None:
    await console.signed_in("old.session", "organiser")
    await console.browser(address="198.51.100.1").sign_in("old.session", "wrong password")
    await console.advance(timedelta(minutes=20))
    fresh = await console.signed_in("new.session", "organiser")
    assert await console.ctx.gate.housekeeping() == 1  # the failure, 20 min old: outside the 15-minute window
    await console.advance(timedelta(minutes=15))  # the first session idle 35 min, the second 15
    assert await console.ctx.gate.housekeeping() == 1
    async with console.db() as conn:
        assert await conn.fetchval("SELECT array_agg(username) FROM sessions") == ["new.session"]
    assert (await fresh.get("/")).status_code == 200
