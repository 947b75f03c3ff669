"""SQL of ``accounts``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from console.domain.accounts import Account, Scope
from pingan_shared.auth import Role

_COLUMNS = ("username, display_name, role, team_id, unit_id, scope, member_id, disabled, created_at, updated_at, "
            "password_hash")


@dataclass(frozen=True)
class StoredAccount:
    account: Account
    password_hash: str


def _row(row: asyncpg.Record) -> StoredAccount:
    account = Account(
        username=row["username"], display_name=row["display_name"], role=Role(row["role"]),
        scope=Scope(team_id=row["team_id"], unit_id=row["unit_id"], scope=row["scope"], member_id=row["member_id"]),
        disabled=row["disabled"], created_at=row["created_at"], updated_at=row["updated_at"],
    )
    return StoredAccount(account, row["password_hash"])


async def get(conn: asyncpg.Connection, username: str, *, for_update: bool = False) -> StoredAccount | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM accounts WHERE username = $1{lock}", username)
    return None if row is None else _row(row)


async def insert(conn: asyncpg.Connection, account: Account, password_hash: str) -> bool:
    """False when the name is taken."""
    done = await conn.fetchval(
        "INSERT INTO accounts (username, display_name, role, team_id, unit_id, scope, member_id, password_hash, "
        "disabled, created_at, updated_at, password_changed_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10) ON CONFLICT (username) DO NOTHING RETURNING 1",
        account.username, account.display_name, account.role.value, account.scope.team_id, account.scope.unit_id,
        account.scope.scope, account.scope.member_id, password_hash, account.disabled, account.created_at)
    return done is not None


async def update_profile(conn: asyncpg.Connection, username: str, *, display_name: str, role: Role, scope: Scope,
                         now: datetime) -> None:
    await conn.execute(
        "UPDATE accounts SET display_name = $2, role = $3, team_id = $4, unit_id = $5, scope = $6, member_id = $7, "
        "updated_at = $8 WHERE username = $1",
        username, display_name, role.value, scope.team_id, scope.unit_id, scope.scope, scope.member_id, now)


async def set_password_hash(conn: asyncpg.Connection, username: str, password_hash: str, now: datetime, *,
                            changed: bool) -> None:
    """A new hash: of a new password (``changed``), or the same one re-hashed with the current parameters."""
    if changed:
        await conn.execute("UPDATE accounts SET password_hash = $2, password_changed_at = $3, updated_at = $3 "
                           "WHERE username = $1", username, password_hash, now)
    else:
        await conn.execute("UPDATE accounts SET password_hash = $2 WHERE username = $1", username, password_hash)


async def set_disabled(conn: asyncpg.Connection, username: str, disabled: bool, now: datetime) -> None:
    await conn.execute("UPDATE accounts SET disabled = $2, updated_at = $3 WHERE username = $1",
                       username, disabled, now)


async def listing(conn: asyncpg.Connection, *, role: Role | None, text: str | None, limit: int,
                  after: str | None) -> list[Account]:
    """Accounts in name order, after the name ``after``; of one role; whose name or display name holds ``text``."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM accounts WHERE ($1::text IS NULL OR role = $1) "
        "AND ($2::text IS NULL OR strpos(username, lower($2)) > 0 OR strpos(display_name, $2) > 0) "
        "AND ($3::text IS NULL OR username > $3) ORDER BY username LIMIT $4",
        role.value if role else None, text, after, limit)
    return [_row(r).account for r in rows]
