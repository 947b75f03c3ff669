"""The contacts directory's rules, no I/O: what a contact provides on which channel, and who receives for a target.

A target is ``person:<name>``, ``unit:<id>`` or ``role:<name>``. People and units carry their own channels
(a webhook, an e-mail address; the inbox always); a role is a group whose members are reached, plus any channel
the role itself has (e.g. an office mailbox). The live stream reaches any known target: it is a broadcast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


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
    def from_row(cls, row: Mapping[str, Any]) -> Contact:
        return cls(
            target=row["target"], display_name=row["display_name"], subject=row["subject"], locale=row["locale"],
            email=row["email"], webhook_url=row["webhook_url"], webhook_secrets=tuple(row["webhook_secrets"]),
        )


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
