"""Transactional outbox and its relay.

``enqueue`` is called inside the caller's transaction, next to the state change it announces, so
the two commit or vanish together. ``OutboxRelay`` publishes unsent rows in id order (hence in
order per key and partition), waits for acks=all, then marks them sent. A crash between publish
and mark re-publishes on restart: duplicates, never loss; consumers' inboxes absorb duplicates.

What "in order per key" means exactly: ids are taken at insert, rows become visible at commit. Writes that
serialize on their aggregate (a row lock, as every state change of one finding or alert does) commit in id
order, so their events are published in that order. Two independent transactions of one key running at
the same moment (two uploads of one team's scans) may become visible out of id order and be published in
commit order instead; nothing is skipped, since the relay always takes every unsent row.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer

from pingan_shared.db.errors import connection
from pingan_shared.events.envelope import Envelope
from pingan_shared.logs import get_logger
from pingan_shared.metrics import Metrics

log = get_logger(__name__)

# Only one relay per database publishes at a time, so order per key survives several replicas.
_RELAY_LOCK_ID = 0x4F555442  # "OUTB"


async def enqueue(conn: asyncpg.Connection, items: Sequence[tuple[str, Envelope]]) -> None:
    """Add (topic, envelope) pairs to the outbox inside the caller's transaction."""
    if not items:
        return
    await conn.execute(
        """
        INSERT INTO outbox (event_id, topic, key, event_type, schema_version, value)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bytea[])
        """,
        [env.event_id for _, env in items],
        [topic for topic, _ in items],
        [env.key for _, env in items],
        [env.type for _, env in items],
        [env.schema_version for _, env in items],
        [env.to_bytes() for _, env in items],
    )


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        metrics: Metrics,
        *,
        batch_size: int = 500,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._metrics = metrics
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        backoff = 0.1
        try:
            while True:
                try:
                    if listener is None or listener.is_closed():
                        listener = await self._listen()
                    published = await self.publish_batch()
                    backoff = 0.1
                except Exception as exc:
                    # Broker or database away: the rows stay unsent; retry with backoff. Nothing is lost.
                    log.warning("outbox relay failed; will retry", error=repr(exc), retry_in=backoff)
                    await self._drop(listener)
                    listener = None
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if published < self._batch_size:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle_poll)
        finally:
            await self._drop(listener)

    async def _listen(self) -> asyncpg.Connection:
        """A dedicated connection LISTENing for new outbox rows (polling covers a lost notification)."""
        listener: asyncpg.Connection = await self._pool.acquire()
        await listener.add_listener("outbox", self._on_notify)
        return listener

    async def _drop(self, listener: asyncpg.Connection | None) -> None:
        if listener is None:
            return
        with contextlib.suppress(Exception):
            await listener.remove_listener("outbox", self._on_notify)
        with contextlib.suppress(Exception):
            await self._pool.release(listener)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        async with connection(self._pool) as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK_ID):
                return 0  # another replica's relay is publishing
            rows = await conn.fetch(
                """
                SELECT id, topic, key, event_id, event_type, schema_version, value
                FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1
                """,
                self._batch_size,
            )
            if not rows:
                self._metrics.outbox_backlog.set(0)
                return 0
            deliveries = []
            for row in rows:
                headers = [
                    ("event_type", row["event_type"].encode()),
                    ("schema_version", str(row["schema_version"]).encode()),
                    ("event_id", str(row["event_id"]).encode()),
                ]
                deliveries.append(
                    await self._producer.send(
                        row["topic"], value=row["value"], key=row["key"].encode(), headers=headers
                    )
                )
            await asyncio.gather(*deliveries)
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
            for row in rows:
                self._metrics.events_published.labels(topic=row["topic"]).inc()
            if len(rows) < self._batch_size:
                self._metrics.outbox_backlog.set(0)
            return len(rows)
