"""The contacts directory as the escalation side sees it: who a target reaches on which channel.

A target is ``person:<name>``, ``unit:<id>`` or ``role:<name>``. People and units carry their own channels
(a webhook, an e-mail address; the inbox always); a role is a group whose members are reached, plus any channel
the role itself has (e.g. an office mailbox). The live stream reaches any known target: it is a broadcast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

_CONTACT_COLUMNS = "target, display_name, subject, locale, email, webhook_url, webhook_secrets"


@dataclass(frozen=True)
class Contact:
    target: str
    display_name: str
    subject: str | None  # the auth subject whose inbox this contact's inbox is
    locale: str
    email: str | None
    webhook_url: str | None
    webhook_secrets: tuple[str, ...]

    @property
    def kind(self) -> str:
        return self.target.split(":", 1)[0]

    def provides(self, channel: str) -> bool:
        if channel == "webhook":
            return self.webhook_url is not None and bool(self.webhook_secrets)
        if channel == "email":
            return self.email is not None
        if channel == "inbox":
            return self.kind in ("person", "unit")
        return channel == "stream"

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Contact:
        return cls(
            target=row["target"], display_name=row["display_name"], subject=row["subject"], locale=row["locale"],
            email=row["email"], webhook_url=row["webhook_url"], webhook_secrets=tuple(row["webhook_secrets"]),
        )


async def load_contacts(conn: asyncpg.Connection, targets: Sequence[str]) -> dict[str, Contact]:
    rows = await conn.fetch(f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE target = ANY($1::text[])", list(targets))
    return {row["target"]: Contact.from_row(row) for row in rows}


async def resolve(conn: asyncpg.Connection, targets: Sequence[str]) -> dict[str, list[Contact]]:
    """Each known target → the contacts it stands for: itself first, then (for a group) its members. One query:
    this runs inside every escalation step's transaction."""
    rows = await conn.fetch(
        f"SELECT c.target AS for_target, 0 AS position, c.{_CONTACT_COLUMNS.replace(', ', ', c.')}"
        " FROM contacts c WHERE c.target = ANY($1::text[])"
        " UNION ALL"
        f" SELECT m.group_target, 1, c.{_CONTACT_COLUMNS.replace(', ', ', c.')}"
        " FROM contact_members m JOIN contacts c ON c.target = m.member_target"
        " WHERE m.group_target = ANY($1::text[])"
        " ORDER BY 1, 2, 3",
        list(dict.fromkeys(targets)))
    resolved: dict[str, list[Contact]] = {}
    for row in rows:
        resolved.setdefault(row["for_target"], []).append(Contact.from_row(row))
    return resolved


def recipients_for(contacts: Sequence[Contact], channel: str) -> list[Contact]:
    """Who receives on ``channel`` for a target resolved to ``contacts`` (itself, then members)."""
    if not contacts:
        return []
    if channel == "stream":
        return [contacts[0]]  # one broadcast per target, not one per member
    seen: set[str] = set()
    chosen: list[Contact] = []
    for contact in contacts:
        if contact.provides(channel) and contact.target not in seen:
            seen.add(contact.target)
            chosen.append(contact)
    return chosen


async def unreachable_targets(conn: asyncpg.Connection, targets: Sequence[str], channels: Sequence[str]) -> list[str]:
    """The targets (in the given order, once each) that are unknown or reach nobody on any of ``channels``."""
    resolved = await resolve(conn, targets)
    unreachable: list[str] = []
    for target in dict.fromkeys(targets):
        contacts = resolved.get(target, [])
        if not any(recipients_for(contacts, channel) for channel in channels):
            unreachable.append(target)
    return unreachable
