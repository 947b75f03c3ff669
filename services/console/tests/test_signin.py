"""Signing in and out over the real database: the session cookie, failures and the throttle, expiry, the audit."""

from __future__ import annotations

from .conftest import Console


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
