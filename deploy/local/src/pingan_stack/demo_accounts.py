"""The embedded stack's demo accounts: one per role of the console, so a first `make up` can be tried at once.

Their passwords are random, made on the data directory's first run and kept in ``<data dir>/demo-accounts.json``
(readable by its owner only), so every later `pingan up` prints the same ones. An account already there is left as
it is (an admin may have changed its password or role): the file then still says what it was made with. Only the
embedded stack seeds them; compose and Kubernetes seed none (their first admin comes from `pingan users add`).

The scopes are the sample city's (``directory/ruian.csv``): the unit is 塘下镇人民政府 (TX), the supervisor's
township 塘下镇 (330381102000), the member 张三, the patrol member of the README's walk-throughs.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from console.domain.accounts import ROLE_LABELS
from console.domain.audit import Actor
from console.domain.passwords import password_problems

from pingan_shared.auth import Role
from pingan_shared.refused import Conflict
from pingan_stack.users_cli import account_book

FILE_IN_DATA_DIR = "demo-accounts.json"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    scope: Mapping[str, str] = field(default_factory=dict)


DEMO_ACCOUNTS: Sequence[DemoAccount] = (
    DemoAccount("admin", "系统管理员", Role.ADMIN),
    DemoAccount("organiser", "平安办组织者", Role.ORGANISER),
    DemoAccount("inspector", "暗访督查员", Role.INSPECTOR),
    DemoAccount("monitor", "市民监督团成员", Role.SUPERVISION_MEMBER),
    DemoAccount("unit.tx", "塘下镇人民政府", Role.UNIT, {"unit_id": "TX"}),
    DemoAccount("supervisor.tx", "塘下镇督查", Role.SUPERVISOR, {"scope": "330381102000"}),
    DemoAccount("member.zhang", "张三", Role.MEMBER, {"member_id": "张三"}),
)


def _new_password(username: str) -> str:
    while True:
        candidate = secrets.token_urlsafe(9)  # 12 characters, 72 bits
        if not password_problems(candidate, username):
            return candidate


def demo_passwords(data_dir: Path) -> dict[str, str]:
    """The demo accounts' passwords of this data directory: read back, or made now and written (0600)."""
    path = data_dir / FILE_IN_DATA_DIR
    kept: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    wanted = {account.username: kept.get(account.username) or _new_password(account.username)
              for account in DEMO_ACCOUNTS}
    if wanted != kept:
        data_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(wanted, ensure_ascii=False, indent=2), encoding="utf-8")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    return wanted


async def seed_demo_accounts(database_url: str, passwords: Mapping[str, str]) -> list[str]:
    """Create the demo accounts missing from the console's database; the names created."""
    created = []
    async with account_book(database_url) as book:
        for account in DEMO_ACCOUNTS:
            try:
                await book.create(Actor("pingan-up", "local"), username=account.username,
                                  display_name=account.display_name, role=account.role.value,
                                  scope=dict(account.scope), password=passwords[account.username])
            except Conflict:
                continue  # already there: left as it is
            created.append(account.username)
    return created


def describe(passwords: Mapping[str, str]) -> list[str]:
    """The lines `pingan up` prints: each account, its password and role."""
    lines = []
    for account in DEMO_ACCOUNTS:
        zh, en = ROLE_LABELS[account.role]
        scope = " ".join(f"{v}" for v in account.scope.values())
        lines.append(f"  {account.username:<14} {passwords[account.username]:<14} {zh} {en}"
                     + (f" ({scope})" if scope else ""))
    return lines
