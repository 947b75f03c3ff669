"""SQL of a delivery round's successes recorded together: the claims that are still ours released as sent or
delivered, their notifications marked, their attempts ended — a fixed number of statements for any number of
messages (``alerts.delivery.results``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from alerts.store.deliveries import Claimed

_RELEASE = """
UPDATE delivery_messages m SET status = v.status, sending_deadline = NULL, claim_token = NULL, finished_at = $4
  FROM unnest($1::bigint[], $2::uuid[], $3::text[]) AS v(id, token, status)
 WHERE m.id = v.id AND m.claim_token = v.token AND m.status = 'sending'
RETURNING m.id
"""

_MARK_NOTIFICATIONS = """
UPDATE deliveries d SET status = v.status FROM unnest($1::bigint[], $2::text[]) AS v(id, status)
 WHERE d.message_id = v.id
"""

_FINISH_ATTEMPTS = """
UPDATE delivery_attempts a SET finished_at = $4, outcome = v.outcome, detail = NULL
  FROM unnest($1::bigint[], $2::int[], $3::text[]) AS v(id, attempt, outcome)
 WHERE a.message_id = v.id AND a.attempt = v.attempt AND a.outcome IS NULL
"""


async def release_sent(conn: asyncpg.Connection, done: Sequence[tuple[Claimed, str]], now: datetime) -> set[int]:
    """End each claim still ours with its final status (``sent`` or ``delivered``), mark its notifications and end
    its attempt; returns the ids of the messages released (a claim taken back meanwhile is not: the new claim
    records its own result)."""
    if not done:
        return set()
    ids = [m.message_id for m, _ in done]
    statuses = [status for _, status in done]
    released = {r["id"] for r in await conn.fetch(
        _RELEASE, ids, [m.claim_token for m, _ in done], statuses, now)}
    mine = [(m, status) for m, status in done if m.message_id in released]
    if mine:
        await conn.execute(_MARK_NOTIFICATIONS, [m.message_id for m, _ in mine], [s for _, s in mine])
        await conn.execute(_FINISH_ATTEMPTS, [m.message_id for m, _ in mine], [m.attempt for m, _ in mine],
                           [s for _, s in mine], now)
    return released
