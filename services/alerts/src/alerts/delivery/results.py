"""A delivery round's successes, recorded together (group commit): each send that succeeds joins the batch being
recorded next; one transaction records the whole batch while the sends after it go on. A lone message is recorded
at once; a burst costs a transaction per batch instead of one per message.

The guarantees are the per-message ones: a result counts only while its claim is still ours (claim token), and a
result lost before its commit (a crash, the database away) leaves the message in ``sending`` under its durable
claim, taken back at its deadline and sent again under the same idempotency key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from alerts.context import AlertsContext
from alerts.delivery.live import notify_live
from alerts.delivery.templates import Rendered
from alerts.domain.contacts import Contact
from alerts.store import deliveries as store
from alerts.store import timeline
from alerts.store.results import release_sent

log = structlog.get_logger(__name__)

FINAL_STATUS = {"webhook": "sent", "email": "sent", "inbox": "delivered", "stream": "delivered"}


@dataclass(frozen=True)
class Sent:
    """A message its channel took (or, for the inbox and the stream, that is to be written with its result)."""

    message: store.Claimed
    contact: Contact
    rendered: Rendered

    @property
    def status(self) -> str:
        return FINAL_STATUS[self.message.channel]


async def record_sent(ctx: AlertsContext, batch: Sequence[Sent],
                      live_item: Callable[[dict[str, Any]], dict[str, Any]]) -> list[Sent]:
    """Record ``batch`` in one transaction; returns what was recorded (the claims that were still ours)."""
    now = ctx.now()
    async with ctx.runtime.connection() as conn, conn.transaction():
        await store.relaxed_commit(conn)
        released = await release_sent(conn, [(s.message, s.status) for s in batch], now)
        mine = [s for s in batch if s.message.message_id in released]
        for sent in mine:
            message, contact, rendered = sent.message, sent.contact, sent.rendered
            if message.channel == "inbox":
                await store.add_to_inbox(conn, message, contact.subject or contact.target, rendered.title,
                                         rendered.body, now)
            elif message.channel == "stream":
                await notify_live(conn, "notification", {
                    "message_id": message.message_id, "recipient": contact.target, "title": rendered.title,
                    "text": rendered.body, "notifications": [live_item(n) for n in message.notifications]})
        await timeline.record_many(conn, [
            (n["alert_id"], "delivery-attempt", now, {
                "message_id": s.message.message_id, "recipient": n["recipient"], "channel": n["channel"],
                "target": n["target"], "step": n["step_index"], "attempt": s.message.attempt,
                "idempotency_key": s.message.idempotency_key, "bundled": len(s.message.notifications),
                "outcome": s.status})
            for s in mine for n in s.message.notifications])
    return mine


class GroupCommit:
    """Hands what is added to ``record`` in batches: whatever arrived while the last batch was being recorded."""

    def __init__(self, record: Callable[[list[Sent]], Awaitable[None]]) -> None:
        self._record = record
        self._pending: list[Sent] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, sent: Sent) -> None:
        self._pending.append(sent)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._record(batch)
            except Exception as exc:
                # The database away or a bug: the claims stay in sending until their deadline and are taken back.
                log.warning("recording delivery results failed", messages=len(batch), error=repr(exc))

    async def drain(self) -> None:
        """Until everything added so far is recorded (or failed to be)."""
        while self._task is not None and not self._task.done():
            await self._task
