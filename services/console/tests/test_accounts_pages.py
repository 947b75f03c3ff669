"""The admin's accounts pages over the real database: create (each refusal next to its field), change role and
scope, reset a password, disable; the table's filters, pages and CSV; the audit trail."""

from __future__ import annotations

import json
import re

from .conftest import PASSWORD, Console

NEW = "/admin/accounts/new"


def field_errors(html: str, field: str) -> list[str]:
    """The reasons shown right under the form field ``field``."""
    found = re.search(rf'<ul class="field-errors" id="e-{field}">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


async def test_an_admin_creates_an_account_that_then_signs_in(console: Console) -> None:
    admin = await console.signed_in("root.admin", "admin")
    created = await admin.submit(NEW, {"username": "TX.Unit", "display_name": "塘下镇人民政府", "role": "unit",
                                       "unit_id": "TX", "password": "tangxia-rectify-2026"})
    assert created.status_code == 303 and created.headers["location"] == "/admin/accounts/tx.unit?done=created"
    page = await admin.get(created.headers["location"])
    assert "账号已创建" in page.text and "塘下镇人民政府" in page.text and 'value="TX"' in page.text
    unit = console.browser(address="192.0.2.50")
    assert (await unit.sign_in("tx.unit", "tangxia-rectify-2026")).status_code == 303
    home = await unit.get("/")
    assert "责任单位" in home.text and "TX" in home.text
    created_row = (await console.audit("account_created"))[-1]
    assert created_row["actor"] == "root.admin" and created_row["account"] == "tx.unit"
    assert json.loads(created_row["detail"]) == {"role": "unit", "unit_id": "TX"}


async def test_a_refused_account_shows_each_reason_by_its_field_and_keeps_what_was_typed(console: Console) -> None:
    admin = await console.signed_in("form.admin", "admin")
    refused = await admin.submit(NEW, {"username": "li.ming", "display_name": "李明", "role": "unit",
                                       "member_id": "张三", "password": "li.ming-12345"})
    assert refused.status_code == 422
    text = refused.text
    assert field_errors(text, "unit_id") == ["unit 角色须填写责任单位代码 (unit code required for this role)"]
    assert field_errors(text, "member_id") == ["unit 角色不使用队员编号，请留空 (this role takes no member id)"]
    assert field_errors(text, "password") == ["密码不能包含用户名 (must not contain the user name)"]
    assert 'value="li.ming"' in text and 'value="李明"' in text and 'value="张三"' in text
    assert "li.ming-12345" not in text  # a password is never sent back
    weak = await admin.submit(NEW, {"username": "wang.fang", "display_name": "王芳", "role": "organiser",
                                    "password": "12345"})
    assert field_errors(weak.text, "password") == ["密码至少 10 个字符 (at least 10 characters)"]
    async with console.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username IN ('li.ming', 'wang.fang')") == 0
    taken = await admin.submit(NEW, {"username": "form.admin", "display_name": "重名", "role": "admin",
                                     "password": PASSWORD})
    assert taken.status_code == 409
    assert field_errors(taken.text, "username") == ["用户名 form.admin 已被使用 (the user name form.admin is taken)"]


async def test_a_role_change_is_audited_from_what_to_what_and_takes_effect_at_once(console: Console) -> None:
    admin = await console.signed_in("role.admin", "admin")
    await console.add_account("zhou.sup", "supervisor", scope="330381102000")
    supervisor = console.browser(address="192.0.2.60")
    assert (await supervisor.sign_in("zhou.sup")).status_code == 303
    assert (await supervisor.get("/admin/accounts")).status_code == 403
    changed = await admin.submit("/admin/accounts/zhou.sup", {"display_name": "周督办", "role": "admin"})
    assert changed.status_code == 303
    assert (await supervisor.get("/admin/accounts")).status_code == 200  # the open session has the new role
    row = (await console.audit("role_changed"))[-1]
    assert row["actor"] == "role.admin" and row["address"] == "192.0.2.10"
    assert json.loads(row["detail"]) == {"from": {"role": "supervisor", "scope": "330381102000"},
                                         "to": {"role": "admin"}}
    renamed_only = await admin.submit("/admin/accounts/zhou.sup", {"display_name": "周", "role": "admin"})
    assert renamed_only.status_code == 303
    assert len(await console.audit("role_changed")) == 1  # a new name is no role change
    self_demotion = await admin.submit("/admin/accounts/role.admin", {"display_name": "我", "role": "organiser"})
    assert self_demotion.status_code == 409
    assert field_errors(self_demotion.text, "role") == ["不能取消自己的管理员角色 (you cannot take the admin role from "
                                                        "yourself)"]


async def test_a_password_reset_ends_the_accounts_sessions(console: Console) -> None:
    admin = await console.signed_in("pw.admin", "admin")
    member = await console.signed_in("zhang.san", "member", address="192.0.2.70", member_id="张三")
    weak = await admin.submit("/admin/accounts/zhang.san/password", {"password": "zhang.san1"},
                              page="/admin/accounts/zhang.san")
    assert weak.status_code == 422 and field_errors(weak.text, "password")
    reset = await admin.submit("/admin/accounts/zhang.san/password", {"password": "a new pass phrase"},
                               page="/admin/accounts/zhang.san")
    assert reset.status_code == 303
    assert (await member.get("/")).status_code == 303  # signed out
    assert (await console.browser().sign_in("zhang.san")).status_code == 401  # the old password is gone
    assert (await console.browser().sign_in("zhang.san", "a new pass phrase")).status_code == 303
    row = (await console.audit("password_reset"))[-1]
    assert row["actor"] == "pw.admin" and json.loads(row["detail"]) == {"sessions_ended": 1}


async def test_disabling_ends_sessions_and_sign_ins_until_enabled(console: Console) -> None:
    admin = await console.signed_in("off.admin", "admin")
    inspector = await console.signed_in("an.fang", "inspector", address="192.0.2.80")
    page = "/admin/accounts/an.fang"
    assert (await admin.submit(f"{page}/disabled", {"disabled": "1"}, page=page)).status_code == 303
    assert (await inspector.get("/")).status_code == 303
    assert (await console.browser().sign_in("an.fang")).status_code == 401
    assert "已停用" in (await admin.get(page)).text
    assert (await admin.submit(f"{page}/disabled", {"disabled": "0"}, page=page)).status_code == 303
    assert (await console.browser().sign_in("an.fang")).status_code == 303
    assert [r["kind"] for r in await console.audit() if r["account"] == "an.fang"][-4:] == [
        "disabled", "signin_failed", "enabled", "signin"]
    self_off = await admin.submit("/admin/accounts/off.admin/disabled", {"disabled": "1"},
                                  page="/admin/accounts/off.admin")
    assert self_off.status_code == 409


async def test_the_accounts_table_filters_pages_and_exports(console: Console) -> None:
    admin = await console.signed_in("table.admin", "admin")
    for n in range(55):
        await console.add_account(f"unit{n:02d}", "unit", unit_id=f"U{n:02d}", display_name=f"单位{n:02d}")
    first = await admin.get("/admin/accounts?role=unit")
    assert first.text.count('href="/admin/accounts/unit') == 50
    assert 'href="/admin/accounts/table.admin"' not in first.text
    next_link = re.search(r'href="(/admin/accounts\?role=unit&amp;after=unit49)" rel="next"', first.text)
    assert next_link, first.text[-2000:]
    second = await admin.get(next_link.group(1).replace("&amp;", "&"))
    assert second.text.count('href="/admin/accounts/unit') == 5 and 'rel="next"' not in second.text
    named = await admin.get("/admin/accounts?q=单位07")
    assert 'href="/admin/accounts/unit07"' in named.text and 'href="/admin/accounts/unit08"' not in named.text
    csv = await admin.get("/admin/accounts?role=unit&format=csv")
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.content.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs for Chinese
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "用户名 User name,姓名 Name,角色 Role,范围 Scope,状态 State,更新时间 Updated"
    assert len(lines) == 56 and lines[1].startswith("unit00,单位00,责任单位,责任单位代码 U00,正常,")
    english = console.browser()
    english.client.cookies = admin.client.cookies
    english.client.cookies.set("lang", "en")
    page = await english.get("/admin/accounts?role=unit")
    assert "Accounts" in page.text and "responsible unit" in page.text and '<html lang="en">' in page.text


async def test_the_audit_trail_lists_newest_first_filters_and_pages(console: Console) -> None:
    admin = await console.signed_in("audit.admin", "admin")
    for _ in range(3):
        await console.browser(address="198.51.100.9").sign_in("audit.admin", "wrong password")
    page = await admin.get("/admin/audit?kind=signin_failed")
    assert page.text.count("登录失败") >= 3 and "密码错误" in page.text and "198.51.100.9" in page.text
    assert "创建账号" not in page.text.split("<tbody>")[1]
    everything = await admin.get("/admin/audit")
    body = everything.text.split("<tbody>")[1]
    assert body.index("登录失败") < body.index("登录成功") < body.index("创建账号")  # newest first
    csv = await admin.get("/admin/audit?account=audit.admin&format=csv")
    assert csv.content.decode("utf-8-sig").count("\n") == 6  # header + created, signin, 3 failures
    english = await admin.get("/lang/en?next=/admin/audit")
    assert english.headers["location"] == "/admin/audit"
    assert "sign-in failed" in (await admin.get("/admin/audit")).text
