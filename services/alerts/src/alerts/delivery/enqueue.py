"""Notifications in: one delivery row per (request, recipient, channel), inside the caller's transaction.

The idempotency key is a hash of what makes a notification itself — alert, event, step, loop, target,
channel and recipient, and for a ``reminder`` also its scheduled moment (``at``) — and the table holds it
unique: a step that fires again (a redelivered signal, a timer retried after a crash) inserts nothing and so
never sends twice, while a multi-ack step's second and later reminders (same step, loop and target, a later
``at``) are new notifications and do go out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC

import asyncpg

from alerts.delivery.requests import NotificationRequest
from alerts.domain.contacts import recipients_for
from alerts.store import deliveries as store
from alerts.store.contacts import resolve


def idempotency_key(request: NotificationRequest, channel: str, recipient: str) -> str:
    parts: tuple[str, ...] = (request.alert_id, request.event, str(request.step_index), str(request.loop),
                              request.target, channel, recipient)
    if request.event == "reminder":
        # Only reminders repeat within one step of one climb; their scheduled moment tells them apart (the
        # escalation side passes the same ``at`` however late or often one reminder's firing is retried).
        parts += (request.at.astimezone(UTC).isoformat(),)
    return "n-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]


async def enqueue_notifications(conn: asyncpg.Connection, requests: Sequence[NotificationRequest]) -> int:
    """Insert the delivery rows for ``requests``; returns how many were new. Targets that reach nobody on a
    channel get no row there (the policy validation and the auditor report such targets)."""
    if not requests:
        return 0
    resolved = await resolve(conn, [r.target for r in requests])
    columns: list[list[object]] = [[] for _ in range(18)]
    for request in requests:
        contacts = resolved.get(request.target, [])
        for channel in dict.fromkeys(request.channels):
            for recipient in recipients_for(contacts, channel):
                row = (
                    idempotency_key(request, channel, recipient.target), request.alert_id, request.dedup_key,
                    request.kind, request.severity, request.summary, request.unit_id, request.area, request.event,
                    request.step_index, request.step_label, request.loop, request.target, recipient.target,
                    channel, request.link, request.at.astimezone(UTC), " ".join(request.places),
                )
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
    if not columns[0]:
        return 0
    return await store.insert_notifications(conn, columns)
