"""`pingan users` as an operator runs it (a separate process) on a console database nothing has touched yet: the
first admin, a weak password refused with its reason and exit 2, a scope the role lacks, a taken name, list,
set-role and reset-password on the audit trail; the console then signs the account in."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from typer.testing import CliRunner

from pingan_shared.clock import FixedClock
from pingan_shared.settings import PlatformSettings
from pingan_stack.cli import app
from pingan_stack.service_harness import fresh_platform
from pingan_stack.testing import PINGAN_COMMAND

from .conftest import START, Console

CHEAP_HASHING = {"CONSOLE_PASSWORD_TIME_COST": "1", "CONSOLE_PASSWORD_MEMORY_KIB": "8192",
                 "CONSOLE_PASSWORD_PARALLELISM": "1"}


def users_process(database_url: str, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """``pingan users <args>`` on ``database_url`` as a process of its own, ``password`` on its standard input."""
    return subprocess.run([*PINGAN_COMMAND, "users", *args], capture_output=True, text=True, timeout=60,
                          input=None if password is None else f"{password}\n",
                          env={**os.environ, "CONSOLE_DATABASE_URL": database_url, **CHEAP_HASHING})


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def users(database_url: str, *args: str, password: str | None = None) -> Ran:
    """The same command run in this process (a process start costs seconds of imports; the first commands of the
    test run as real processes): in a thread, since the command runs its own event loop."""
    def invoke() -> Ran:
        result = CliRunner().invoke(app, ["users", *args], input=None if password is None else f"{password}\n",
                                    env={"CONSOLE_DATABASE_URL": database_url, **CHEAP_HASHING})
        return Ran(result.exit_code, result.stdout, result.stderr)
    return await asyncio.to_thread(invoke)


async def test_an_operator_makes_and_manages_accounts_from_the_command_line(
        database_factory: Callable[..., Awaitable[str]], platform_settings: PlatformSettings) -> None:
    database = await database_factory()  # empty: the command makes the console's tables

    first = users_process(database, "add", "--username", "first.admin", "--role", "admin",
                          "--display-name", "首位管理员", "--password-stdin", password="correct horse battery")
    assert first.returncode == 0, first.stderr
    assert "已创建 created: first.admin" in first.stdout and "系统管理员 administrator" in first.stdout
    assert "console: database postgresql://" in first.stderr  # says which database it wrote to

    weak = users_process(database, "add", "--username", "weak.one", "--role", "organiser", "--password-stdin",
                         password="12345")
    assert weak.returncode == 2
    assert "password: 密码至少 10 个字符 (at least 10 characters)" in weak.stderr
    named = await users(database, "add", "--username", "li.hua", "--role", "organiser", "--password-stdin",
                  password="li.hua-2026-11")
    assert named.returncode == 2 and "密码不能包含用户名 (must not contain the user name)" in named.stderr
    no_unit = await users(database, "add", "--username", "tx.unit", "--role", "unit", "--password-stdin",
                    password="correct horse battery")
    assert no_unit.returncode == 2 and "unit_id: unit 角色须填写责任单位代码" in no_unit.stderr
    taken = await users(database, "add", "--username", "first.admin", "--role", "admin", "--password-stdin",
                  password="correct horse battery")
    assert taken.returncode == 1 and "已被使用" in taken.stderr

    assert (await users(database, "add", "--username", "zhou.sup", "--role", "supervisor", "--password-stdin",
                        password="correct horse battery")).returncode == 0
    moved = await users(database, "set-role", "--username", "zhou.sup", "--role", "supervisor",
                        "--scope", "330381102000")
    assert moved.returncode == 0 and "scope=330381102000" in moved.stdout
    unknown = await users(database, "set-role", "--username", "nobody", "--role", "admin")
    assert unknown.returncode == 1 and "没有账号 nobody" in unknown.stderr
    reset = await users(database, "reset-password", "--username", "zhou.sup", "--password-stdin",
                  password="a new pass phrase")
    assert reset.returncode == 0

    listed = await users(database, "list", "--json")
    assert listed.returncode == 0
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [
        {"username": "first.admin", "display_name": "首位管理员", "role": "admin", "team_id": None, "unit_id": None,
         "scope": None, "member_id": None, "disabled": False},
        {"username": "zhou.sup", "display_name": "zhou.sup", "role": "supervisor", "team_id": None, "unit_id": None,
         "scope": "330381102000", "member_id": None, "disabled": False},
    ]
    assert (await users(database, "list", "--role", "root")).returncode == 2

    console = Console(database, fresh_platform(platform_settings), FixedClock(START))
    await console.start()
    try:
        assert (await console.browser().sign_in("first.admin", "correct horse battery")).status_code == 303
        assert (await console.browser().sign_in("zhou.sup", "a new pass phrase")).status_code == 303
        async with console.db() as conn:
            assert await conn.fetchval("SELECT count(*) FROM accounts WHERE username = 'weak.one'") == 0
            stored = await conn.fetchval("SELECT password_hash FROM accounts WHERE username = 'first.admin'")
        assert stored.startswith("$argon2id$")
        audit = await console.audit()
        assert [(r["kind"], r["account"]) for r in audit][:5] == [
            ("account_created", "first.admin"), ("account_created", "zhou.sup"), ("role_changed", "zhou.sup"),
            ("password_reset", "zhou.sup"), ("signin", "first.admin")]
        assert all(r["actor"].startswith("cli:") and r["address"] == "local" for r in audit[:4])
    finally:
        await console.stop()
