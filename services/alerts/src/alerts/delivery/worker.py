"""The delivery worker: due notifications → messages → claimed → sent → recorded. Runs on every replica.

One round: (1) put due notifications into messages, bundling a recipient's notifications on one channel (leading
edge: a notification with nothing sent to its recipient on its channel within the window leaves at once, what follows
within the window leaves together at its end);
(2) claim due messages (``FOR UPDATE SKIP LOCKED``, flipped to ``sending`` with a deadline before the claim
commits), within each channel's rate limit, taking back any message left in ``sending`` past its deadline;
(3) send them concurrently; (4) record the results — the successes together, in one transaction per batch of
them that completed meanwhile (``results``), each failure in its own: delivered or sent, a retry with exponential
backoff, or after the last attempt a failure with a dead letter and an ``alerts.delivery-failed``
event — together with a line on each alert's timeline. A result counts only while its claim is still ours.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from alerts.context import AlertsContext
from alerts.delivery import audit
from alerts.delivery.channels import EmailChannel, SendFailed, WebhookChannel, email_message, webhook_body
from alerts.delivery.metrics import DeliveryMetrics
from alerts.delivery.results import GroupCommit, Sent, record_sent
from alerts.delivery.templates import Rendered, render
from alerts.domain.contacts import Contact
from alerts.domain.delivery import may_retry, rate_budget, retry_delay
from alerts.store import deliveries as store
from alerts.store import timeline
from alerts.store.contacts import load as load_contacts
from alerts.store.deliveries import WAKE_CHANNEL
from pingan_shared.events.alert_contracts import DeliveryFailedV1
from pingan_shared.events.catalog import DELIVERY_FAILED
from pingan_shared.messaging.outbox import enqueue

log = structlog.get_logger(__name__)


def public_item(n: dict[str, Any], base_url: str = "") -> dict[str, Any]:
    """A notification as receivers see it (webhook body, live stream)."""
    link = n["link"]
    if link and base_url and link.startswith("/"):
        link = base_url.rstrip("/") + link
    return {
        "alert_id": n["alert_id"], "dedup_key": n["dedup_key"], "kind": n["kind"], "severity": n["severity"],
        "summary": n["summary"], "unit_id": n["unit_id"], "area": n["area"], "places": list(n["places"]),
        "event": n["event"],
        "step": n["step_index"], "label": n["step_label"], "loop": n["loop"], "target": n["target"],
        "link": link, "at": n["due_at"].isoformat(),
    }


class DeliveryWorker:
    def __init__(self, ctx: AlertsContext, metrics: DeliveryMetrics) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.metrics = metrics
        self.webhook = WebhookChannel(ctx.settings)
        self.email = EmailChannel(ctx.settings)
        self._wake = asyncio.Event()
        self._gauges_due = 0.0
        self._next_release: datetime | None = None  # when a bundle held back becomes ready (asked when idle)

    # --- the loop ------------------------------------------------------------------------------------

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        backoff = 0.2
        pool = self.ctx.runtime.pool
        try:
            while True:
                try:
                    if listener is None or listener.is_closed():
                        listener = await self._listen(pool)
                    handled = await self.run_once()
                    await self._count_gauges()
                    backoff = 0.2
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Database away or a bug in one round: nothing is lost (claims time out and are taken
                    # back); log, wait, go on.
                    log.warning("delivery round failed; will retry", error=repr(exc), retry_in=backoff)
                    if listener is not None:
                        await self._drop(pool, listener)
                        listener = None
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if handled == 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.idle_wait())
        finally:
            if listener is not None:
                await self._drop(pool, listener)
            await self.webhook.close()

    async def _listen(self, pool: asyncpg.Pool) -> asyncpg.Connection:
        listener: asyncpg.Connection = await pool.acquire()
        try:
            await listener.add_listener(WAKE_CHANNEL, self._on_wake)
        except BaseException:
            await pool.release(listener)
            raise
        return listener

    async def _drop(self, pool: asyncpg.Pool, listener: asyncpg.Connection) -> None:
        with contextlib.suppress(Exception):
            await listener.remove_listener(WAKE_CHANNEL, self._on_wake)
        with contextlib.suppress(Exception):
            await pool.release(listener)

    def idle_wait(self) -> float:
        """Seconds to wait for a wake-up when nothing was due: the poll, or less when a bundle held back becomes
        ready sooner (the end of its window, read on the service's clock and waited in real seconds: exact at 1×;
        a test's clock that stands still is polled)."""
        poll = self.settings.delivery_poll_seconds
        if self._next_release is None:
            return poll
        return min(poll, max(0.01, (self._next_release - self.ctx.now()).total_seconds()))

    def _on_wake(self, *_: object) -> None:
        self._wake.set()

    async def _count_gauges(self) -> None:
        loop_now = asyncio.get_running_loop().time()
        if loop_now < self._gauges_due:
            return
        self._gauges_due = loop_now + self.settings.delivery_gauge_seconds
        async with self.ctx.runtime.connection() as conn:
            await audit.count_into(conn, self.metrics, self.ctx.now())

    # --- one round -----------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Bundle, claim and send what is due now; returns the messages handled (0: nothing was due)."""
        settings = self.settings
        async with self.ctx.runtime.connection() as conn, conn.transaction():
            window = timedelta(seconds=settings.delivery_bundle_window_seconds)
            await store.bundle_due(conn, self.ctx.now(), window=window, most=settings.delivery_bundle_max,
                                   groups=settings.delivery_batch_size)
        claimed = await self.claim()
        if not claimed:
            async with self.ctx.runtime.connection() as conn:
                self._next_release = await store.next_release(conn, window)
            return 0
        async with self.ctx.runtime.connection() as conn:
            contacts = await load_contacts(conn, list({m.recipient for m in claimed}))
        gate = asyncio.Semaphore(settings.delivery_concurrency)
        results = GroupCommit(self._record_sent)

        async def one(message: store.Claimed) -> None:
            async with gate:
                sent = await self.deliver(message, contacts.get(message.recipient))
            if sent is not None:
                results.add(sent)

        await asyncio.gather(*(one(m) for m in claimed))
        await results.drain()
        return len(claimed)

    async def claim(self) -> list[store.Claimed]:
        settings = self.settings
        now = self.ctx.now()
        async with self.ctx.runtime.connection() as conn, conn.transaction():
            # Budgets first, in one order (the advisory locks): a channel at its limit is left out of the
            # candidates altogether, so its backlog never fills the batch and starves the other channels.
            budgets: dict[str, int | None] = {}
            for channel in sorted(settings.delivery_rate_limits):
                budgets[channel] = await self._budget(conn, channel, now)
            spent = [channel for channel, budget in budgets.items() if budget is not None and budget <= 0]
            candidates = await store.claim_candidates(conn, now, self.claim_limit(), skip_channels=spent)
            chosen: list[int] = []
            exhausted: list[int] = []
            for candidate in candidates:
                if candidate["status"] == "sending" and not may_retry(
                        candidate["attempts"] - candidate["attempt_base"], settings.delivery_max_attempts):
                    exhausted.append(candidate["id"])
                    continue
                channel = candidate["channel"]
                budget = budgets.get(channel)
                if budget is not None:
                    if budget <= 0:
                        continue
                    budgets[channel] = budget - 1
                chosen.append(candidate["id"])
            overdue = [c["id"] for c in candidates if c["status"] == "sending" and c["id"] in {*chosen, *exhausted}]
            if overdue:
                await store.take_back(conn, overdue, now)
                await self._record_taken_back(conn, overdue, now)
            deadline = now + timedelta(seconds=settings.delivery_sending_timeout_seconds)
            claimed = await store.mark_sending(conn, chosen, now, deadline)
            # A message taken back after its last attempt fails here, once: it is not sent again.
            for message in await store.mark_sending(conn, exhausted, now, deadline, new_attempt=False):
                await self._fail(conn, message, "发送超时且重试次数已用尽 (stuck in sending after the last attempt)",
                                 now)
        return claimed

    def claim_limit(self) -> int:
        """At most as many messages as can all be sent before their sending deadline even if every send takes
        its full timeout (waves of ``delivery_concurrency``): a message still queued in this replica when its
        deadline passed would be taken back and sent by another one too."""
        settings = self.settings
        slowest = max(settings.delivery_webhook_timeout_seconds, settings.smtp_timeout_seconds)
        waves = max(1, int(settings.delivery_sending_timeout_seconds // slowest) - 1)
        return max(1, min(settings.delivery_batch_size, settings.delivery_concurrency * waves))

    async def _budget(self, conn: asyncpg.Connection, channel: str, now: datetime) -> int | None:
        limit = self.settings.delivery_rate_limits.get(channel, 0)
        if limit <= 0:
            return None
        await store.lock_channel_budget(conn, channel)
        return rate_budget(limit, await store.started_since(conn, channel, now - timedelta(minutes=1)))

    async def _record_taken_back(self, conn: asyncpg.Connection, message_ids: list[int], now: datetime) -> None:
        rows = await store.taken_back(conn, message_ids)
        await timeline.record_many(conn, [
            (r.alert_id, "delivery-attempt", now, {
                "message_id": r.message_id, "recipient": r.recipient, "channel": r.channel,
                "attempt": r.attempts, "idempotency_key": r.idempotency_key, "outcome": "taken-back",
                "reason": "发送超时，收回重发 (still sending at its deadline)"})
            for r in rows])
        for r in rows:
            self.metrics.attempts.labels(channel=r.channel, outcome="taken-back").inc()

    # --- one message ---------------------------------------------------------------------------------

    async def deliver(self, message: store.Claimed, contact: Contact | None) -> Sent | None:
        """Send one claimed message to ``contact`` (None: the contact was deleted). A failure is recorded here; a
        success is returned, for the caller to record with the round's others (``results.GroupCommit``)."""
        try:
            if contact is None:
                await self._finish_failure(message, "联系人已删除 (the contact no longer exists)", final=True)
                return None
            rendered = render(contact.locale, contact.display_name, message.notifications, self.ctx.zone)
            try:
                await self._send(message, contact, rendered)
            except SendFailed as exc:
                await self._finish_failure(message, exc.reason)
                return None
            return Sent(message, contact, rendered)
        except Exception as exc:
            # A bug or the database away: the claim stays in sending until its deadline and is taken back.
            log.warning("delivery attempt failed unexpectedly", message_id=message.message_id, error=repr(exc))
            return None

    async def _send(self, message: store.Claimed, contact: Contact, rendered: Rendered) -> None:
        """The channels that leave the service; inbox and stream are written with the result instead."""
        if message.channel == "webhook":
            items = [public_item(n, self.settings.delivery_link_base_url) for n in message.notifications]
            await self.webhook.send(contact, message.idempotency_key,
                                    webhook_body(message.idempotency_key, contact, rendered, items))
        elif message.channel == "email":
            if contact.email is None:
                raise SendFailed("联系人没有电子邮箱 (no e-mail address)")
            await self.email.send(email_message(self.settings, contact, message.idempotency_key, rendered,
                                                self.ctx.now()))

    async def _record_sent(self, batch: list[Sent]) -> None:
        base_url = self.settings.delivery_link_base_url
        for sent in await record_sent(self.ctx, batch, lambda n: public_item(n, base_url)):
            self.metrics.attempts.labels(channel=sent.message.channel, outcome=sent.status).inc()

    async def _finish_failure(self, message: store.Claimed, reason: str, *, final: bool = False) -> None:
        now = self.ctx.now()
        settings = self.settings
        async with self.ctx.runtime.connection() as conn, conn.transaction():
            await store.relaxed_commit(conn)
            # The budget counts from the last re-send (attempts keep their numbers across it).
            if final or not may_retry(message.budget_used, settings.delivery_max_attempts):
                await self._fail(conn, message, reason, now)
                return
            next_at = now + retry_delay(message.budget_used, base_seconds=settings.delivery_backoff_base_seconds,
                                        max_seconds=settings.delivery_backoff_max_seconds)
            if not await store.release_claim(conn, message, status="pending", now=now, next_attempt_at=next_at,
                                             error=reason):
                return
            await store.finish_attempt(conn, message, now, "retry", reason)
            await self._timeline(conn, message, now, "retry", reason=reason, next_attempt_at=next_at.isoformat())
        self.metrics.attempts.labels(channel=message.channel, outcome="retry").inc()

    async def _fail(self, conn: asyncpg.Connection, message: store.Claimed, reason: str, now: datetime) -> None:
        """The last attempt failed: failed, a dead letter, and an ``alerts.delivery-failed`` per alert."""
        if not await store.release_claim(conn, message, status="failed", now=now, error=reason):
            return
        await store.finish_attempt(conn, message, now, "failed", reason)
        await store.dead_letter(conn, message, reason, now)
        await self._timeline(conn, message, now, "failed", reason=reason)
        await timeline.record_many(conn, [
            (n["alert_id"], "delivery-failed", now, {"message_id": message.message_id, "recipient": n["recipient"],
                                                     "channel": n["channel"], "attempts": message.attempt,
                                                     "reason": reason})
            for n in message.notifications])
        events = [
            self.ctx.events.make(DELIVERY_FAILED, DeliveryFailedV1(
                alert_id=n["alert_id"], dedup_key=n["dedup_key"], kind=n["kind"], unit_id=n["unit_id"],
                event=n["event"], step=n["step_index"], label=n["step_label"], loop=n["loop"], target=n["target"],
                recipient=n["recipient"], channel=n["channel"], attempts=message.attempt, reason=reason,
                idempotency_key=message.idempotency_key, at=now), key=n["dedup_key"])
            for n in message.notifications]
        await enqueue(conn, events)
        self.metrics.attempts.labels(channel=message.channel, outcome="failed").inc()

    async def _timeline(self, conn: asyncpg.Connection, message: store.Claimed, now: datetime, outcome: str,
                        **extra: Any) -> None:
        await timeline.record_many(conn, [
            (n["alert_id"], "delivery-attempt", now, {
                "message_id": message.message_id, "recipient": n["recipient"], "channel": n["channel"],
                "target": n["target"], "step": n["step_index"], "attempt": message.attempt,
                "idempotency_key": message.idempotency_key, "bundled": len(message.notifications),
                "outcome": outcome, **extra})
            for n in message.notifications])
