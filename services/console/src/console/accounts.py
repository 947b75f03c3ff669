"""The admin's work on accounts (the console's pages and ``pingan users`` alike): create, change role and scope,
reset a password, disable or enable; each change and its audit row in one transaction.

Password hashing runs in a worker thread: argon2id costs tens of milliseconds of CPU by design, which the event
loop serving everyone else must not spend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from console.database import Database
from console.domain.accounts import (
    Account,
    Scope,
    check_scope,
    clean_display_name,
    normalise_username,
    person_role,
)
from console.domain.audit import Actor, AuditEntry, AuditKind
from console.domain.passwords import PasswordHashing, check_password
from console.store import accounts as account_rows
from console.store import audit as audit_rows
from console.store import sessions as session_rows
from console.store import throttle as throttle_rows
from pingan_shared.auth import Role
from pingan_shared.clock import Clock
from pingan_shared.refused import Conflict, NotFound, Refused

T = TypeVar("T")


def _not_found(username: str) -> NotFound:
    return NotFound(f"没有账号 {username} (no account {username})", "username")


@dataclass(frozen=True)
class AccountBook:
    db: Database
    hashing: PasswordHashing
    wall: Clock  # real time: audit rows and account times are when things happened, whatever the demo clock says

    async def create(self, actor: Actor, *, username: str, display_name: str, role: str,
                     scope: Mapping[str, str | None], password: str) -> Account:
        """A new account; refused (each field at fault named) for a taken or malformed name, a role a person cannot
        hold, a scope the role does not take or lacks, or a password the policy refuses."""
        errors: list[dict[str, str]] = []
        name = _collect(errors, lambda: normalise_username(username))
        shown = _collect(errors, lambda: clean_display_name(display_name))
        chosen = _collect(errors, lambda: person_role(role))
        fields = _collect(errors, lambda: check_scope(chosen, scope)) if chosen is not None else None
        _collect(errors, lambda: check_password(password, name or username.strip().lower()))
        if errors or name is None or shown is None or chosen is None or fields is None:
            raise Refused(422, "账号信息有误 (the account cannot be created as given)", errors=errors)
        password_hash = await asyncio.to_thread(self.hashing.hash, password)
        now = self.wall.now()
        account = Account(username=name, display_name=shown, role=chosen, scope=fields, disabled=False,
                          created_at=now, updated_at=now)
        async with self.db.connection() as conn, conn.transaction():
            if not await account_rows.insert(conn, account, password_hash):
                raise Conflict(f"用户名 {name} 已被使用 (the user name {name} is taken)", "username")
            await audit_rows.append(conn, AuditKind.ACCOUNT_CREATED, at=now, actor=actor.username, account=name,
                                    address=actor.address, detail={"role": chosen.value, **_shown_scope(fields)})
        return account

    async def get(self, username: str) -> Account:
        async with self.db.connection() as conn:
            stored = await account_rows.get(conn, username)
        if stored is None:
            raise _not_found(username)
        return stored.account

    async def update(self, actor: Actor, username: str, *, display_name: str, role: str,
                     scope: Mapping[str, str | None]) -> Account:
        """A new display name, role and scope. A change of role or scope is on the audit trail, from what to what;
        the person's open sessions carry the new role from their next request (each request reads the account).
        An admin cannot take the admin role from themselves: there would be nobody left to give it back."""
        errors: list[dict[str, str]] = []
        shown = _collect(errors, lambda: clean_display_name(display_name))
        chosen = _collect(errors, lambda: person_role(role))
        fields = _collect(errors, lambda: check_scope(chosen, scope)) if chosen is not None else None
        if errors or shown is None or chosen is None or fields is None:
            raise Refused(422, "账号信息有误 (the account cannot be changed as given)", errors=errors)
        if actor.username == username and chosen is not Role.ADMIN:
            raise Conflict("不能取消自己的管理员角色 (you cannot take the admin role from yourself)", "role")
        now = self.wall.now()
        async with self.db.connection() as conn, conn.transaction():
            stored = await account_rows.get(conn, username, for_update=True)
            if stored is None:
                raise _not_found(username)
            before = stored.account
            await account_rows.update_profile(conn, username, display_name=shown, role=chosen, scope=fields, now=now)
            if before.role is not chosen or before.scope != fields:
                await audit_rows.append(
                    conn, AuditKind.ROLE_CHANGED, at=now, actor=actor.username, account=username,
                    address=actor.address,
                    detail={"from": {"role": before.role.value, **_shown_scope(before.scope)},
                            "to": {"role": chosen.value, **_shown_scope(fields)}})
        return Account(username=username, display_name=shown, role=chosen, scope=fields, disabled=before.disabled,
                       created_at=before.created_at, updated_at=now)

    async def reset_password(self, actor: Actor, username: str, password: str) -> None:
        """A new password (the policy's), the account's sign-in failures forgotten and its sessions ended: whoever
        held the old password is signed out."""
        check_password(password, username)
        password_hash = await asyncio.to_thread(self.hashing.hash, password)
        now = self.wall.now()
        async with self.db.connection() as conn, conn.transaction():
            if await account_rows.get(conn, username, for_update=True) is None:
                raise _not_found(username)
            await account_rows.set_password_hash(conn, username, password_hash, now, changed=True)
            await throttle_rows.forget_account(conn, username)
            ended = await session_rows.delete_of_account(conn, username)
            await audit_rows.append(conn, AuditKind.PASSWORD_RESET, at=now, actor=actor.username, account=username,
                                    address=actor.address, detail={"sessions_ended": ended})

    async def set_disabled(self, actor: Actor, username: str, disabled: bool) -> None:
        """Disable (its sessions end at once; it cannot sign in) or enable an account. Nobody disables themselves."""
        if disabled and actor.username == username:
            raise Conflict("不能停用自己的账号 (you cannot disable your own account)", "username")
        now = self.wall.now()
        async with self.db.connection() as conn, conn.transaction():
            stored = await account_rows.get(conn, username, for_update=True)
            if stored is None:
                raise _not_found(username)
            if stored.account.disabled == disabled:
                return  # already so: nothing happened, nothing to audit
            await account_rows.set_disabled(conn, username, disabled, now)
            ended = await session_rows.delete_of_account(conn, username) if disabled else 0
            kind = AuditKind.DISABLED if disabled else AuditKind.ENABLED
            await audit_rows.append(conn, kind, at=now, actor=actor.username, account=username,
                                    address=actor.address, detail={"sessions_ended": ended} if disabled else {})

    async def listing(self, *, role: Role | None = None, text: str | None = None, limit: int = 50,
                      after: str | None = None) -> list[Account]:
        async with self.db.connection() as conn:
            return await account_rows.listing(conn, role=role, text=text, limit=limit, after=after)

    async def audit(self, *, account: str | None = None, kind: AuditKind | None = None, limit: int = 50,
                    before_id: int | None = None) -> list[AuditEntry]:
        async with self.db.connection() as conn:
            return await audit_rows.listing(conn, account=account, kind=kind, limit=limit, before_id=before_id)


def _collect(errors: list[dict[str, str]], check: Callable[[], T]) -> T | None:
    """``check()``'s value, or None with its refusal's errors added to ``errors`` (so one answer names every field
    at fault, not just the first)."""
    try:
        return check()
    except Refused as refusal:
        errors.extend(refusal.answer())
        return None


def _shown_scope(scope: Scope) -> dict[str, str]:
    return {name: value for name, value in scope.as_dict().items() if value}
