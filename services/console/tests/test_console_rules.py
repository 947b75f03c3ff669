"""The console's rules without a server: passwords, scopes, the throttle, session expiry, and the page helpers
(forms placing refusals, tables' CSV, the menu, the policy header, where a sign-in may lead)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from console.domain.accounts import Account, Scope, check_scope, normalise_username, person_role
from console.domain.passwords import PasswordHashing, password_problems
from console.domain.sessions import SessionLimits, csrf_matches, csrf_token, id_hash, new_session_id
from console.domain.throttle import ThrottleRule
from console.pages.signin import safe_next
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.menu import Menu, MenuItem
from console.web.security import content_security_policy
from console.web.tables import Column, csv_response

from pingan_shared.auth import Role
from pingan_shared.refused import Refused

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(("password", "username", "reasons"), [
    ("short", "li", ["至少 10 个字符"]),
    ("1234567890", "li", ["常见密码"]),
    ("Password123", "li", ["常见密码"]),
    ("aaaaaaaaaaaa", "li", ["常见密码"]),
    ("wang.xiao-secret", "wang.xiao", ["用户名"]),
    ("WANG.XIAO-secret", "wang.xiao", ["用户名"]),
    ("qwerty", "qwerty", ["至少 10 个字符", "用户名"]),
    ("correct horse battery", "wang.xiao", []),
    ("瑞安平安巡逻二〇二六年", "wang.xiao", []),
])
def test_the_password_policy_says_each_problem_in_chinese_and_english(password: str, username: str,
                                                                     reasons: list[str]) -> None:
    problems = password_problems(password, username)
    assert len(problems) == len(reasons), problems
    for problem, reason in zip(problems, reasons, strict=True):
        assert reason in problem and "(" in problem and problem.endswith(")")  # 中文 (English)


def test_hashes_are_argon2id_verified_and_rehashed_when_the_cost_changes() -> None:
    cheap = PasswordHashing(time_cost=1, memory_kib=8192, parallelism=1)
    stored = cheap.hash("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert cheap.verify(stored, "correct horse battery")
    assert not cheap.verify(stored, "correct horse battery!")
    assert not cheap.verify("not a hash", "x")
    assert not cheap.needs_rehash(stored)
    assert PasswordHashing(time_cost=2, memory_kib=8192, parallelism=1).needs_rehash(stored)


@pytest.mark.parametrize(("role", "given", "fields"), [
    (Role.UNIT, {}, ["unit_id"]),
    (Role.MEMBER, {}, ["member_id"]),
    (Role.ADMIN, {"unit_id": "TX"}, ["unit_id"]),
    (Role.ORGANISER, {"scope": "330381102000", "team_id": "t"}, ["team_id", "scope"]),
    (Role.SUPERVISOR, {"scope": "a b"}, ["scope"]),
    (Role.UNIT, {"unit_id": "TX/1"}, ["unit_id"]),
])
def test_a_scope_the_role_does_not_take_or_lacks_is_refused_by_field(role: Role, given: dict[str, str],
                                                                      fields: list[str]) -> None:
    with pytest.raises(Refused) as refused:
        check_scope(role, given)
    assert [e["field"] for e in refused.value.answer()] == fields


def test_the_scopes_roles_take() -> None:
    assert check_scope(Role.UNIT, {"unit_id": " TX "}) == Scope(unit_id="TX")
    assert check_scope(Role.SUPERVISOR, {"scope": ""}) == Scope()  # city-wide
    assert check_scope(Role.MEMBER, {"member_id": "张三", "team_id": "塘下一队"}) == Scope(team_id="塘下一队",
                                                                                       member_id="张三")
    member = Account("zhang3", "张三", Role.MEMBER, Scope(member_id="张三"), False, T0, T0)
    assert member.subject == "张三"  # roster knows a member by their member id
    assert Account("li", "李", Role.ADMIN, Scope(), False, T0, T0).subject == "li"


@pytest.mark.parametrize("raw", ["patrol_device", "integration", "root", ""])
def test_only_the_roles_people_hold(raw: str) -> None:
    with pytest.raises(Refused):
        person_role(raw)


def test_user_names() -> None:
    assert normalise_username("  Zhang.San ") == "zhang.san"
    for bad in ("ab", "张三", "a b", "-lead", "x" * 40):
        with pytest.raises(Refused):
            normalise_username(bad)


def test_the_throttle_locks_at_the_limit_until_the_oldest_counted_failure_leaves_the_window() -> None:
    rule = ThrottleRule(limit=3, window=timedelta(minutes=15))
    failures = [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert rule.locked_until(failures[:2], T0 + timedelta(minutes=3)) is None
    assert rule.locked_until(failures, T0 + timedelta(minutes=3)) == T0 + timedelta(minutes=15)
    assert rule.locked_until(failures, T0 + timedelta(minutes=15)) is None  # the first has left the window
    # with more failures than the limit, the lock lasts until only limit - 1 remain
    more = [*failures, T0 + timedelta(minutes=10)]
    assert rule.locked_until(more, T0 + timedelta(minutes=11)) == T0 + timedelta(minutes=16)


def test_a_session_ends_after_idle_time_or_at_its_absolute_limit() -> None:
    limits = SessionLimits(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    assert limits.is_live(T0, T0 + timedelta(minutes=29), T0 + timedelta(minutes=58))
    assert not limits.is_live(T0, T0, T0 + timedelta(minutes=30))
    used_lately = T0 + timedelta(hours=11, minutes=50)
    assert limits.expires_at(T0, used_lately) == T0 + timedelta(hours=12)


def test_session_secrets() -> None:
    first, second = new_session_id(), new_session_id()
    assert first != second and len(first) >= 43
    assert id_hash(first) != id_hash(second) and len(id_hash(first)) == 32
    assert csrf_matches(first, csrf_token(first))
    assert not csrf_matches(first, csrf_token(second)) and not csrf_matches(first, None)


def test_a_form_places_each_service_reason_by_its_field_and_the_rest_on_top() -> None:
    refusal = ServiceRefused("inspection", 422, "请求无效 (invalid request)", [
        {"field": "body.name", "reason": "不能为空 (required)"},
        {"field": "body.steps.1.targets.0", "reason": "无人接收 (reaches nobody)"},
        {"field": "query.limit", "reason": "过大 (too large)"},
        {"field": "body.unknown", "reason": "多余 (extra)"},
    ])
    form = Form(fields=("name", "steps", "limit"), values={"name": ""}).refused(refusal)
    assert form.errors == {"name": ["不能为空 (required)"], "steps": ["无人接收 (reaches nobody)"],
                           "limit": ["过大 (too large)"]}
    assert form.general == ["body.unknown: 多余 (extra)", "请求无效 (invalid request)"]
    mapped = Form(fields=("targets",)).refused(refusal, {"body.steps.": "targets"})
    assert mapped.errors == {"targets": ["无人接收 (reaches nobody)"]}
    own = Form(fields=("password",)).refused(Refused(422, "太短 (too short)", "password"))
    assert own.errors == {"password": ["太短 (too short)"]} and own.general == []


def test_csv_exports_start_with_a_byte_order_mark_and_defuse_formulas() -> None:
    response = csv_response([Column("name", "姓名", "Name"), Column("note", "备注", "Note")],
                            [{"name": "张三", "note": "=HYPERLINK(\"x\")"}, {"name": "李四", "note": None}], "people")
    body = bytes(response.body).decode("utf-8")
    assert body.startswith("\ufeff姓名 Name,备注 Note")
    assert "张三,\"'=HYPERLINK(\"\"x\"\")\"" in body and "李四," in body
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="people.csv"' in response.headers["content-disposition"]


def test_the_menu_shows_a_role_its_own_sections_in_order() -> None:
    menu = Menu()
    menu.add([MenuItem("/admin/accounts", "账号", "Accounts", section="admin", roles=frozenset({Role.ADMIN})),
              MenuItem("/", "工作台", "Home", section="home", roles=frozenset({Role.ADMIN, Role.UNIT}), order=0),
              MenuItem("/inspection/tasks", "任务", "Tasks", section="inspection", roles=frozenset({Role.UNIT}))])
    assert [s.key for s in menu.for_role(Role.ADMIN)] == ["home", "admin"]
    assert [s.key for s in menu.for_role(Role.UNIT)] == ["home", "inspection"]
    assert menu.for_role(Role.MEMBER) == []
    current = menu.current("/inspection/tasks/T-1")
    assert current is not None and current.path == "/inspection/tasks"
    with pytest.raises(ValueError, match="declared twice"):
        menu.add([MenuItem("/", "again", "again", section="home")])
    with pytest.raises(ValueError, match="unknown section"):
        MenuItem("/x", "x", "x", section="nowhere")


def test_the_policy_allows_only_this_origin_and_the_tile_hosts() -> None:
    policy = content_security_policy(["https://tiles.example"])
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "img-src 'self' data: blob: https://tiles.example;" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe" not in policy


@pytest.mark.parametrize(("target", "expected"), [
    ("/admin/accounts?role=unit", "/admin/accounts?role=unit"), (None, "/"), ("//evil.example/x", "/"),
    ("https://evil.example", "/"), ("/\\evil.example", "/"), ("/a\nb", "/"),
])
def test_a_sign_in_leads_only_to_a_page_of_the_console(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
