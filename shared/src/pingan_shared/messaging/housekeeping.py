"""Keeps the outbox and the inbox from growing without end.

* Sent outbox rows are kept a while (audit, and republishing after a broker loss), then removed: the retention
  counts from the row's first publish (``first_sent_at``), so rows republished after losses still go in time.
  Unsent rows are never touched, parked ones included: a row the broker refused for good stays, with its
  error, until an operator retries it (``pingan outbox retry``) and it is sent. The per-key sequence
  counters (``outbox_key_sequence``) are never purged either: a counter that restarted would make a key's
  new events look older than those consumers already applied.
* Inbox rows are what makes a redelivery a no-op, so one may go only when its event can no longer be
  delivered again: after the retention of the topics the service consumes. ``inbox_retention`` must
  therefore exceed the longest topic retention (deploy/k8s keeps topics up to 30 days; the default here
  is 35). A replay from the start of a topic that reaches further back than that would count again.

Rows go in bounded batches so a large backlog never holds long locks or one huge transaction. Several
replicas may run this at once: a row deleted twice is deleted once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from pingan_shared.logs import get_logger

log = get_logger(__name__)

_PURGE_OUTBOX = """
    DELETE FROM outbox WHERE id = ANY(ARRAY(
        SELECT id FROM outbox WHERE sent_at IS NOT NULL AND first_sent_at < now() - $1::interval LIMIT $2))
"""
_PURGE_INBOX = """
    DELETE FROM inbox WHERE (consumer_group, message_id) IN (
        SELECT consumer_group, message_id FROM inbox WHERE handled_at < now() - $1::interval LIMIT $2)
"""


@dataclass(frozen=True)
class Purged:
    outbox: int
    inbox: int


class Housekeeper:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        outbox_retention: timedelta,
        inbox_retention: timedelta,
        interval_seconds: float = 600,
        batch_size: int = 10_000,
    ) -> None:
        self._pool = pool
        self._outbox_retention = outbox_retention
        self._inbox_retention = inbox_retention
        self._interval = interval_seconds
        self._batch_size = batch_size

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                purged = await self.purge()
            except Exception as exc:  # the database is away: next round
                log.warning("housekeeping failed; will retry", error=repr(exc))
                continue
            if purged.outbox or purged.inbox:
                log.info("housekeeping purged rows", outbox=purged.outbox, inbox=purged.inbox)

    async def purge(self) -> Purged:
        """Purge everything past its retention, batch by batch."""
        outbox = await self._purge_all(_PURGE_OUTBOX, self._outbox_retention)
        inbox = await self._purge_all(_PURGE_INBOX, self._inbox_retention)
        return Purged(outbox, inbox)

    async def _purge_all(self, statement: str, retention: timedelta) -> int:
        total = 0
        while True:
            result = await self._pool.execute(statement, retention, self._batch_size)
            deleted = int(result.split()[-1])
            total += deleted
            if deleted < self._batch_size:
                return total
