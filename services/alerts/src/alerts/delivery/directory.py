"""The contacts directory as the escalation side sees it: who a target reaches on which channel (the rules are
``domain.contacts``; the rows ``store.contacts``)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from alerts.domain.contacts import recipients_for
from alerts.store.contacts import resolve


async def unreachable_targets(conn: asyncpg.Connection, targets: Sequence[str], channels: Sequence[str]) -> list[str]:
    """The targets (in the given order, once each) that are unknown or reach nobody on any of ``channels``."""
    resolved = await resolve(conn, targets)
    unreachable: list[str] = []
    for target in dict.fromkeys(targets):
        contacts = resolved.get(target, [])
        if not any(recipients_for(contacts, channel) for channel in channels):
            unreachable.append(target)
    return unreachable
