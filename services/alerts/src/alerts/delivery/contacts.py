"""Managing the contacts directory (admins): people, units and role groups, their channels and members.

Webhook secrets are write-only: answers show how many a contact has and a short fingerprint of each, never the
secret. A rotation adds the new secret in front and keeps the previous one valid until it is dropped.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingan_shared.text import StorableStr

# Patterns are stated again as json_schema_extra: pydantic leaves a pattern out of the JSON Schema when the type
# also has a validator (StorableStr), and the OpenAPI must say what the API refuses.
# Python's \s and JSON Schema's (ECMA 262) differ in \x1c-\x1f, \x85 and \ufeff: naming them too makes both
# engines agree on every character, so the schema refuses exactly what the API refuses.
_SPACE = r"\s\x1c-\x1f\x85\ufeff"
TARGET_PATTERN = rf"^(person|unit|role):[^/?#\x00-\x1f{_SPACE}][^/?#\x00-\x1f\x7f]{{0,199}}$"
_TARGET = re.compile(TARGET_PATTERN)
_EMAIL = rf'^[^@<>"\x00-\x1f{_SPACE}]+@[^@<>"\x00-\x1f{_SPACE}]+\.[^@<>"\x00-\x1f{_SPACE}]+$'
_URL = rf"^https?://[^/?#\x00-\x1f{_SPACE}]+[^\x00-\x1f{_SPACE}]*$"
_SECRET = rf"^[^\x00-\x1f{_SPACE}]+$"
_NOT_BLANK = rf"[^{_SPACE}]"


def _pattern(pattern: str) -> Any:
    return Field(pattern=pattern, json_schema_extra={"pattern": pattern})


Target = Annotated[StorableStr, _pattern(TARGET_PATTERN), Field(max_length=205)]
Secret = Annotated[StorableStr, _pattern(_SECRET), Field(min_length=16, max_length=200)]


class ContactIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    display_name: StorableStr = Field(min_length=1, max_length=100, pattern=_NOT_BLANK,
                                      json_schema_extra={"pattern": _NOT_BLANK}, description="e.g. 张三")
    subject: StorableStr | None = Field(default=None, min_length=1, max_length=200, pattern=_NOT_BLANK,
                                        json_schema_extra={"pattern": _NOT_BLANK}, description=(
                                            "the token subject whose inbox this contact's inbox is (person or unit)"))
    locale: Literal["zh", "en"] = "zh"
    email: StorableStr | None = Field(default=None, max_length=254, pattern=_EMAIL,
                                      json_schema_extra={"pattern": _EMAIL})
    webhook_url: StorableStr | None = Field(default=None, max_length=2000, pattern=_URL,
                                            json_schema_extra={"pattern": _URL})
    webhook_secrets: list[Secret] = Field(default_factory=list, max_length=2, description=(
        "one secret, or two during a rotation (the new one first); each request is signed with every one"))
    members: list[Target] = Field(default_factory=list, max_length=500, description=(
        "for a role group: the people and units it stands for"))

    @field_validator("webhook_secrets")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("secrets must differ")
        return value


class SecretRotationIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: Secret = Field(description="the new secret; it signs every request from now on")
    keep_previous: bool = Field(default=True, description=(
        "keep the current secret valid too (until a later rotation or a PUT drops it)"))


class Outcome(Enum):
    CREATED = "created"
    UPDATED = "updated"


class ContactRefused(ValueError):
    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def contact_json(row: asyncpg.Record, members: list[str]) -> dict[str, Any]:
    return {
        "target": row["target"], "kind": row["target"].split(":", 1)[0], "display_name": row["display_name"],
        "subject": row["subject"], "locale": row["locale"], "email": row["email"], "webhook_url": row["webhook_url"],
        "webhook_secrets": [{"fingerprint": fingerprint(s)} for s in row["webhook_secrets"]],
        "members": members, "updated_at": row["updated_at"].isoformat(),
    }


def valid_target(target: str) -> bool:
    return _TARGET.match(target) is not None


async def put(conn: asyncpg.Connection, target: str, contact: ContactIn, now: datetime) -> Outcome:
    kind = target.split(":", 1)[0]
    if contact.members and kind != "role":
        raise ContactRefused("只有角色组可以有成员 (only a role group has members)", "members")
    if contact.subject is not None and kind == "role":
        raise ContactRefused("角色组没有自己的收件箱 (a role group has no inbox of its own)", "subject")
    members = list(dict.fromkeys(contact.members))
    if members:
        bad = [m for m in members if m.startswith("role:")]
        if bad:
            raise ContactRefused(f"成员不能是角色组 (a member cannot be a role group): {bad[0]}", "members")
        known = {r["target"] for r in await conn.fetch(
            "SELECT target FROM contacts WHERE target = ANY($1::text[])", members)}
        missing = [m for m in members if m not in known]
        if missing:
            raise ContactRefused(f"成员不存在 (unknown member): {missing[0]}", "members")
    if contact.subject is not None:
        other = await conn.fetchval("SELECT target FROM contacts WHERE subject = $1 AND target <> $2",
                                    contact.subject, target)
        if other is not None:
            raise ContactRefused(f"该账号已是 {other} 的收件人 (the subject already owns another inbox)", "subject")
    existed = await conn.fetchval("SELECT true FROM contacts WHERE target = $1 FOR UPDATE", target)
    await conn.execute(
        "INSERT INTO contacts (target, display_name, subject, locale, email, webhook_url, webhook_secrets,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
        " ON CONFLICT (target) DO UPDATE SET display_name = $2, subject = $3, locale = $4, email = $5,"
        " webhook_url = $6, webhook_secrets = $7, updated_at = $8",
        target, contact.display_name, contact.subject, contact.locale, contact.email, contact.webhook_url,
        list(contact.webhook_secrets), now)
    await conn.execute("DELETE FROM contact_members WHERE group_target = $1", target)
    if members:
        await conn.executemany("INSERT INTO contact_members (group_target, member_target) VALUES ($1, $2)",
                               [(target, m) for m in members])
    return Outcome.UPDATED if existed else Outcome.CREATED


async def get(conn: asyncpg.Connection, target: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM contacts WHERE target = $1", target)
    if row is None:
        return None
    members = [r["member_target"] for r in await conn.fetch(
        "SELECT member_target FROM contact_members WHERE group_target = $1 ORDER BY member_target", target)]
    return contact_json(row, members)


async def page(conn: asyncpg.Connection, *, kind: str | None, limit: int, after: str | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT c.*, array(SELECT m.member_target FROM contact_members m WHERE m.group_target = c.target"
        " ORDER BY 1) AS members FROM contacts c"
        " WHERE ($1::text IS NULL OR c.target LIKE $1 || ':%') AND ($2::text IS NULL OR c.target > $2)"
        " ORDER BY c.target LIMIT $3", kind, after, limit)
    return [contact_json(r, list(r["members"])) for r in rows]


async def delete(conn: asyncpg.Connection, target: str) -> bool:
    return await conn.fetchval("DELETE FROM contacts WHERE target = $1 RETURNING true", target) is not None


async def rotate_secret(conn: asyncpg.Connection, target: str, rotation: SecretRotationIn,
                        now: datetime) -> bool:
    """The new secret in front; the previous first one stays valid if asked (at most two are kept)."""
    row = await conn.fetchrow("SELECT webhook_secrets FROM contacts WHERE target = $1 FOR UPDATE", target)
    if row is None:
        return False
    current = list(row["webhook_secrets"])
    if rotation.secret in current:
        raise ContactRefused("新密钥与现有密钥相同 (the new secret is already in use)", "secret")
    secrets = [rotation.secret, *current[:1]] if rotation.keep_previous else [rotation.secret]
    await conn.execute("UPDATE contacts SET webhook_secrets = $2, updated_at = $3 WHERE target = $1",
                       target, secrets, now)
    return True
