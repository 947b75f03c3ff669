"""`pingan users`: the console's accounts from the command line — the first admin of a new installation, and any
account an operator must make or fix without the console's pages.

It writes through the console's own account rules (``console.accounts.AccountBook``: the same password policy,
argon2id hashing, scope checks and audit rows as the admin's pages), straight into the console's database:
``CONSOLE_DATABASE_URL``, else ``pingan_console`` on the server `pingan up` uses (``DATABASE_URL``, else the
embedded one on ``PINGAN_PG_PORT``), said on stderr. The database's tables are made first if the console has not
run yet. The audit names the actor ``cli:<login>``.

Exit status: 0 done; 1 no such account, or the name is taken; 2 refused as given (a weak password, a scope the role
does not take: each reason printed) or the database cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from console.accounts import AccountBook
from console.database import PoolDatabase
from console.domain.accounts import PERSON_ROLES, ROLE_LABELS, Account
from console.domain.audit import Actor
from console.domain.passwords import PasswordHashing
from console.settings import ConsoleSettings

from pingan_shared.auth import Role
from pingan_shared.clock import SystemClock
from pingan_shared.db.migrations import apply_migrations, load_migrations, platform_migrations
from pingan_shared.db.pool import create_pool
from pingan_shared.refused import Refused
from pingan_stack.endpoints import from_environment, redact, service_database
from pingan_stack.topology import CONSOLE

T = TypeVar("T")

users_app = typer.Typer(help="控制台账号 The console's accounts: add, list, change role, reset a password.",
                        no_args_is_help=True)

ROLE_NAMES = ", ".join(r.value for r in PERSON_ROLES)
CONNECT_TIMEOUT_SECONDS = 5.0

RoleOption = Annotated[str, typer.Option(help=f"one of: {ROLE_NAMES}")]
UnitOption = Annotated[str | None, typer.Option("--unit", help="the unit code (role unit)")]
TeamOption = Annotated[str | None, typer.Option("--team", help="the member's team (role member, optional)")]
ScopeOption = Annotated[str | None, typer.Option("--scope", help="a supervisor's place code (none: city-wide)")]
MemberOption = Annotated[str | None, typer.Option("--member", help="the member id in roster (role member)")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="read the password from the first line of "
                                                                      "standard input (otherwise asked twice)")]


def _scope(unit: str | None, team: str | None, scope: str | None, member: str | None) -> dict[str, str | None]:
    return {"unit_id": unit, "team_id": team, "scope": scope, "member_id": member}


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 Password: ")
    if getpass.getpass("再输入一次 Again: ") != first:
        typer.echo("两次输入的密码不同 (the passwords differ)", err=True)
        raise typer.Exit(2)
    return first


def _actor() -> Actor:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's)
        login = "unknown"
    return Actor(f"cli:{login}", "local")


@contextlib.asynccontextmanager
async def account_book(database_url: str, settings: ConsoleSettings | None = None) -> AsyncIterator[AccountBook]:
    """The console's accounts on ``database_url`` (one connection; the console's tables made first if the console
    has not run yet), hashing at the console's configured cost. Also what `pingan up` seeds its demo accounts with."""
    settings = settings or ConsoleSettings()
    pool = await create_pool(database_url, min_size=1, max_size=1, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn, [*platform_migrations(), *load_migrations("console", "console")])
        hashing = PasswordHashing(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib,
                                  parallelism=settings.password_parallelism)
        yield AccountBook(PoolDatabase(pool), hashing, SystemClock())
    finally:
        await pool.close()


async def _with_book(work: Callable[[AccountBook], Awaitable[T]]) -> T:
    url = from_environment(lambda environ: service_database(CONSOLE, environ))
    typer.echo(f"console: database {url.describe()}", err=True)
    try:
        async with account_book(url.address) as book:
            return await work(book)
    except (OSError, asyncpg.PostgresConnectionError, asyncpg.InvalidCatalogNameError, TimeoutError) as exc:
        typer.echo(f"console: cannot reach {redact(url.address)}: {exc!r}", err=True)
        raise typer.Exit(2) from exc


def _run(work: Callable[[AccountBook], Awaitable[T]]) -> T:
    """``work`` on the console's accounts; a refusal printed reason by reason, with its exit status."""
    try:
        return asyncio.run(_with_book(work))
    except Refused as refusal:
        typer.echo(refusal.detail, err=True)
        for error in refusal.answer():
            typer.echo(f"  {error['field']}: {error['reason']}", err=True)
        raise typer.Exit(1 if refusal.status in (404, 409) else 2) from refusal


def _line(account: Account) -> str:
    zh, en = ROLE_LABELS[account.role]
    scope = " ".join(f"{name}={value}" for name, value in account.scope.as_dict().items() if value)
    state = " 已停用 disabled" if account.disabled else ""
    return f"{account.username:<24} {account.display_name:<12} {account.role.value} ({zh} {en}) {scope}{state}".rstrip()


@users_app.command("add")
def add(username: Annotated[str, typer.Option(help="the sign-in name (3-32 lower-case letters, digits, . _ -)")],
        role: RoleOption,
        display_name: Annotated[str | None, typer.Option(help="the name shown (default: the user name)")] = None,
        unit: UnitOption = None, team: TeamOption = None, scope: ScopeOption = None, member: MemberOption = None,
        password_stdin: PasswordStdin = False) -> None:
    """Create an account; a weak password is refused with the reason (exit 2)."""
    password = _password(password_stdin)
    account = _run(lambda book: book.create(_actor(), username=username, display_name=display_name or username,
                                            role=role, scope=_scope(unit, team, scope, member), password=password))
    typer.echo(f"已创建 created: {_line(account)}")


@users_app.command("list")
def list_accounts(role: Annotated[str | None, typer.Option(help=f"only this role: {ROLE_NAMES}")] = None,
                  as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False) -> None:
    """Every account (name order), or those of one role."""
    if role is not None and role not in {r.value for r in PERSON_ROLES}:
        raise typer.BadParameter(f"unknown role {role}; one of {ROLE_NAMES}", param_hint="--role")

    async def everyone(book: AccountBook) -> list[Account]:
        found: list[Account] = []
        while True:
            page = await book.listing(role=Role(role) if role else None, limit=500,
                                      after=found[-1].username if found else None)
            found += page
            if len(page) < 500:
                return found

    for account in _run(everyone):
        if as_json:
            typer.echo(json.dumps({"username": account.username, "display_name": account.display_name,
                                   "role": account.role.value, **account.scope.as_dict(),
                                   "disabled": account.disabled}, ensure_ascii=False))
        else:
            typer.echo(_line(account))


@users_app.command("set-role")
def set_role(username: Annotated[str, typer.Option(help="the account")], role: RoleOption,
             unit: UnitOption = None, team: TeamOption = None, scope: ScopeOption = None,
             member: MemberOption = None) -> None:
    """Give an account another role and scope (its display name kept); on the audit trail."""

    async def change(book: AccountBook) -> Account:
        current = await book.get(username)
        return await book.update(_actor(), username, display_name=current.display_name, role=role,
                                 scope=_scope(unit, team, scope, member))

    typer.echo(f"已更新 changed: {_line(_run(change))}")


@users_app.command("reset-password")
def reset_password(username: Annotated[str, typer.Option(help="the account")],
                   password_stdin: PasswordStdin = False) -> None:
    """A new password for an account (the policy's); its sessions end."""
    password = _password(password_stdin)
    _run(lambda book: book.reset_password(_actor(), username, password))
    typer.echo(f"已重置 password reset: {username}")
