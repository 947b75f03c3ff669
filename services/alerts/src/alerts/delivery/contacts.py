"""Managing the contacts directory (admins): people, units and role groups, their channels and members.

Webhook secrets are write-only: answers show how many a contact has and a short fingerprint of each, never the
secret. A rotation adds the new secret in front and keeps the previous one valid until it is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, field_validator

from alerts.context import AlertsContext
from alerts.places import canonical_target
from alerts.store import contacts as store
from pingan_shared.http.paging import Page, page_of
from pingan_shared.refused import Invalid, NotFound
from pingan_shared.text import StorableStr

# Patterns are stated again as json_schema_extra: pydantic leaves a pattern out of the JSON Schema when the type
# also has a validator (StorableStr), and the OpenAPI must say what the API refuses.
# Python's \s and JSON Schema's (ECMA 262) differ in \x1c-\x1f, \x85 and \ufeff: naming them too makes both
# engines agree on every character, so the schema refuses exactly what the API refuses.
_SPACE = r"\s\x1c-\x1f\x85\ufeff"
TARGET_PATTERN = rf"^(person|unit|role):[^/?#\x00-\x1f{_SPACE}][^/?#\x00-\x1f\x7f]{{0,199}}$"
_EMAIL = rf'^[^@<>"\x00-\x1f{_SPACE}]+@[^@<>"\x00-\x1f{_SPACE}]+\.[^@<>"\x00-\x1f{_SPACE}]+$'
_URL = rf"^https?://[^/?#\x00-\x1f{_SPACE}]+[^\x00-\x1f{_SPACE}]*$"
_SECRET = rf"^[^\x00-\x1f{_SPACE}]+$"
# Not pingan_shared.inputs.NOT_BLANK: that one's \s is read differently by Python and by a JSON Schema validator
# (\x1c-\x1f, \x85, \ufeff), and these contact names were made to agree in both.
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
    webhook_secrets: list[Secret] | None = Field(default=None, max_length=2, description=(
        "one secret, or two during a rotation (the new one first); each request is signed with every one. "
        "Omitted (or null): a new contact has none and an existing one keeps its own — secrets are never shown, so "
        "an edit could not send them back; [] removes them"))
    members: list[Target] = Field(default_factory=list, max_length=500, description=(
        "for a role group: the people and units it stands for"))

    @field_validator("webhook_secrets")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
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


class ContactRefused(Invalid):
    """A contact the directory cannot take (422 naming the field: ``members``, ``subject``, ``secret``)."""


class ContactNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("联系人不存在 (no such contact)", "target")


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def contact_json(row: Mapping[str, Any], members: list[str]) -> dict[str, Any]:
    return {
        "target": row["target"], "kind": row["target"].split(":", 1)[0], "display_name": row["display_name"],
        "subject": row["subject"], "locale": row["locale"], "email": row["email"], "webhook_url": row["webhook_url"],
        "webhook_secrets": [{"fingerprint": fingerprint(s)} for s in row["webhook_secrets"]],
        "members": members, "updated_at": row["updated_at"].isoformat(),
    }


async def put(ctx: AlertsContext, target: str, contact: ContactIn) -> tuple[Outcome, dict[str, Any]]:
    """Create or replace a contact (``ContactRefused`` naming the field at fault): whether it was new, and the
    contact as stored."""
    kind = target.split(":", 1)[0]
    if contact.members and kind != "role":
        raise ContactRefused("只有角色组可以有成员 (only a role group has members)", "members")
    if contact.subject is not None and kind == "role":
        raise ContactRefused("角色组没有自己的收件箱 (a role group has no inbox of its own)", "subject")
    async with ctx.runtime.connection() as conn, conn.transaction():
        target = await canonical_target(conn, target)
        members = list(dict.fromkeys([await canonical_target(conn, m) for m in contact.members]))
        if members:
            bad = [m for m in members if m.startswith("role:")]
            if bad:
                raise ContactRefused(f"成员不能是角色组 (a member cannot be a role group): {bad[0]}", "members")
            known = await store.known(conn, members)
            missing = [m for m in members if m not in known]
            if missing:
                raise ContactRefused(f"成员不存在 (unknown member): {missing[0]}", "members")
        if contact.subject is not None:
            other = await store.subject_owner(conn, contact.subject, other_than=target)
            if other is not None:
                raise ContactRefused(f"该账号已是 {other} 的收件人 (the subject already owns another inbox)",
                                     "subject")
        existed = await store.upsert(conn, target, display_name=contact.display_name, subject=contact.subject,
                                     locale=contact.locale, email=contact.email, webhook_url=contact.webhook_url,
                                     webhook_secrets=contact.webhook_secrets, members=members, now=ctx.now())
        body = await _get(conn, target)
    assert body is not None
    return Outcome.UPDATED if existed else Outcome.CREATED, body


async def _get(conn: asyncpg.Connection, target: str) -> dict[str, Any] | None:
    found = await store.get(conn, target)
    return None if found is None else contact_json(*found)


async def get(ctx: AlertsContext, target: str) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        body = await _get(conn, await canonical_target(conn, target))
    if body is None:
        raise ContactNotFound()
    return body


async def page(ctx: AlertsContext, *, kind: str | None, limit: int, after: str | None) -> Page[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        found = await store.page(conn, kind=kind, limit=limit, after=after)
    return page_of([contact_json(row, members) for row, members in found], limit, lambda item: str(item["target"]))


async def delete(ctx: AlertsContext, target: str) -> None:
    """Remove a contact (and its group memberships). Notifications already queued for it fail."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        if not await store.delete(conn, await canonical_target(conn, target)):
            raise ContactNotFound()


async def rotate_secret(ctx: AlertsContext, target: str, rotation: SecretRotationIn) -> dict[str, Any]:
    """The new secret in front; the previous first one stays valid if asked (at most two are kept)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        target = await canonical_target(conn, target)
        current = await store.lock_secrets(conn, target)
        if current is None:
            raise ContactNotFound()
        if rotation.secret in current:
            raise ContactRefused("新密钥与现有密钥相同 (the new secret is already in use)", "secret")
        secrets = [rotation.secret, *current[:1]] if rotation.keep_previous else [rotation.secret]
        await store.set_secrets(conn, target, secrets, ctx.now())
        body = await _get(conn, target)
    assert body is not None
    return body
