"""Signing in and out, and finding who a session cookie belongs to.

A sign-in is refused alike for an unknown name and a wrong password (the same words, and the same argon2 work:
``PasswordHashing.verify_decoy``), so the form tells nobody which names exist. Failures are counted per name typed
and per client address (``domain.throttle``); past the limit, either lock refuses every attempt, the right password
included, until the time it names. Every attempt is on the audit trail with its reason.

Session and throttle times are real time (``wall``): a compressed-time demo must not sign people out in seconds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from console.database import Database
from console.domain.accounts import Account
from console.domain.audit import AuditKind
from console.domain.passwords import PasswordHashing
from console.domain.sessions import SessionLimits, id_hash, new_session_id
from console.domain.throttle import ThrottleRule
from console.store import accounts as account_rows
from console.store import audit as audit_rows
from console.store import sessions as session_rows
from console.store import throttle as throttle_rows
from pingan_shared.clock import Clock
from pingan_shared.refused import Refused

WRONG_CREDENTIALS = "用户名或密码错误 (wrong user name or password)"
DISABLED = "账号已停用，请联系管理员 (this account is disabled; ask an administrator)"


class SignInRefused(Refused):
    """The sign-in form's answer: 401 for credentials or a disabled account, 429 while locked."""


@dataclass(frozen=True)
class SignedIn:
    session_id: str  # for the cookie only: never stored, never logged
    account: Account


@dataclass(frozen=True)
class CurrentSession:
    session_id: str
    account: Account
    expires_at: datetime


@dataclass(frozen=True)
class Gatekeeper:
    db: Database
    hashing: PasswordHashing
    wall: Clock
    limits: SessionLimits
    account_rule: ThrottleRule
    address_rule: ThrottleRule
    zone: ZoneInfo  # where the "try after HH:MM" is told

    async def sign_in(self, username: str, password: str, address: str) -> SignedIn:
        name = username.strip().lower()[:64]
        now = self.wall.now()
        async with self.db.connection() as conn:
            locked_until = max(
                (t for t in (
                    self.account_rule.locked_until(
                        await throttle_rows.of_account(conn, name, self.account_rule.since(now)), now),
                    self.address_rule.locked_until(
                        await throttle_rows.of_address(conn, address, self.address_rule.since(now)), now),
                ) if t is not None), default=None)
            if locked_until is not None:
                await audit_rows.append(conn, AuditKind.SIGNIN_FAILED, at=now, actor=None, account=name,
                                        address=address, detail={"reason": "locked",
                                                                 "until": locked_until.isoformat()})
                shown = _minute_at_or_after(locked_until, self.zone)
                raise SignInRefused(429, f"尝试次数过多，请在 {shown} 后再试 (too many attempts; try again after "
                                         f"{shown})", "username")
            stored = await account_rows.get(conn, name)
        if stored is None:
            await asyncio.to_thread(self.hashing.verify_decoy, password)
            await self._failed(name, address, now, "unknown_account")
        else:
            ok = await asyncio.to_thread(self.hashing.verify, stored.password_hash, password)
            if not ok:
                await self._failed(name, address, now, "bad_password")
            if stored.account.disabled:
                # told only to whoever knows the password: a guesser learns nothing of the account
                async with self.db.connection() as conn:
                    await audit_rows.append(conn, AuditKind.SIGNIN_FAILED, at=now, actor=None, account=name,
                                            address=address, detail={"reason": "disabled"})
                raise SignInRefused(401, DISABLED, "username")
        assert stored is not None
        rehashed = (await asyncio.to_thread(self.hashing.hash, password)
                    if self.hashing.needs_rehash(stored.password_hash) else None)
        session_id = new_session_id()
        async with self.db.connection() as conn, conn.transaction():
            if rehashed is not None:  # made with older parameters: kept from now on with the configured ones
                await account_rows.set_password_hash(conn, name, rehashed, now, changed=False)
            await throttle_rows.forget_account(conn, name)
            await session_rows.insert(conn, id_hash(session_id), name, now, address)
            await audit_rows.append(conn, AuditKind.SIGNIN, at=now, actor=name, account=name, address=address)
        return SignedIn(session_id, stored.account)

    async def _failed(self, name: str, address: str, now: datetime, reason: str) -> None:
        async with self.db.connection() as conn, conn.transaction():
            await throttle_rows.record(conn, name, address, now)
            await audit_rows.append(conn, AuditKind.SIGNIN_FAILED, at=now, actor=None, account=name, address=address,
                                    detail={"reason": reason})
        raise SignInRefused(401, WRONG_CREDENTIALS, "password")

    async def current(self, session_id: str, *, touch: bool = True) -> CurrentSession | None:
        """The live session of this cookie value and its account, its last use moved to now (``touch``; not by a
        page's background stream, which would keep an abandoned tab signed in for ever); None for no session, an
        expired one (then deleted) or a disabled account."""
        key = id_hash(session_id)
        now = self.wall.now()
        async with self.db.connection() as conn:
            stored = await session_rows.get(conn, key)
            if stored is None:
                return None
            if not self.limits.is_live(stored.created_at, stored.last_seen_at, now):
                await session_rows.delete(conn, key)
                return None
            account = await account_rows.get(conn, stored.username)
            if account is None or account.account.disabled:
                return None
            if touch:
                await session_rows.touch(conn, key, now)
        return CurrentSession(session_id, account.account, self.limits.expires_at(stored.created_at, now))

    async def sign_out(self, session_id: str, address: str) -> None:
        now = self.wall.now()
        async with self.db.connection() as conn, conn.transaction():
            username = await session_rows.delete(conn, id_hash(session_id))
            if username is not None:
                await audit_rows.append(conn, AuditKind.SIGNOUT, at=now, actor=username, account=username,
                                        address=address)

    async def housekeeping(self) -> int:
        """Delete expired sessions and failures past the longest throttle window; how many rows went."""
        now = self.wall.now()
        window = max(self.account_rule.window, self.address_rule.window)
        async with self.db.connection() as conn:
            gone = await session_rows.delete_expired(conn, idle_before=now - self.limits.idle,
                                                     created_before=now - self.limits.absolute)
            gone += await throttle_rows.delete_older_than(conn, now - window)
        return gone


def _minute_at_or_after(moment: datetime, zone: ZoneInfo) -> str:
    """HH:MM (local) of the first whole minute at which the lock has lifted."""
    local = moment.astimezone(zone)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return local.strftime("%H:%M")
