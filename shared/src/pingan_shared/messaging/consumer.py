"""Idempotent inbox consumer with dead-lettering.

For each partition batch, one PostgreSQL transaction holds, per message: the inbox row (message
id + consumer group) and the handler's effects (in a savepoint). Offsets are committed to Kafka
only after that transaction commits, so:

* a crash before the commit redelivers the batch, and the handler runs again from scratch;
* a crash after the DB commit but before the offset commit redelivers too, and the inbox turns
  the redelivery into a no-op;
* a message that cannot be parsed or whose handler fails deterministically is dead-lettered
  (through the outbox, in the same transaction) and the partition moves on;
* a transient failure (database or network away) retries the whole batch with backoff, never
  skipping it.

Partitions are handled one batch at a time, in offset order: no concurrency that could commit past
an in-flight message.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import BaseModel

from pingan_shared.clock import Clock
from pingan_shared.events.catalog import CATALOG, DEAD_LETTERED, Catalog
from pingan_shared.events.contracts import DeadLetteredV1
from pingan_shared.events.envelope import Envelope, EnvelopeError, new_envelope
from pingan_shared.logs import bound_context, get_logger
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.metrics import Metrics

log = get_logger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope, BaseModel], Awaitable[None]]

# Failures that say nothing about the message itself: retry the batch instead of dead-lettering.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
)


class HandlerRejected(Exception):
    """Raised by a handler for an event that is well-formed but can never be applied."""


@dataclass(frozen=True)
class ConsumerSpec:
    group_id: str
    handlers: dict[str, Handler]
    topics: Sequence[str] = ()

    def subscribed_topics(self, catalog: Catalog) -> list[str]:
        return sorted(set(self.topics) | {catalog.topic_for(name) for name in self.handlers})


class InboxConsumer:
    def __init__(
        self,
        *,
        service: str,
        spec: ConsumerSpec,
        pool: asyncpg.Pool,
        clock: Clock,
        metrics: Metrics,
        bootstrap_servers: str,
        topic_prefix: str = "",
        deadletter_topic: str,
        catalog: Catalog = CATALOG,
        batch_size: int = 500,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 1_000,
    ) -> None:
        self._service = service
        self._spec = spec
        self._group = f"{topic_prefix}{spec.group_id}"
        self._pool = pool
        self._clock = clock
        self._metrics = metrics
        self._catalog = catalog
        self._batch_size = batch_size
        self._deadletter_topic = deadletter_topic
        self._topics = [f"{topic_prefix}{t}" for t in spec.subscribed_topics(catalog)]
        self._consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=bootstrap_servers,
            group_id=self._group,
            client_id=f"{service}-{spec.group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
            # a batch retried while the database is away must not cost the partitions
            max_poll_interval_ms=600_000,
        )

    @property
    def group_id(self) -> str:
        return self._group

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000, max_records=self._batch_size)
            for partition, records in batches.items():
                if records:
                    await self._process_until_done(partition, records)

    async def _process_until_done(self, partition: TopicPartition, records: list[ConsumerRecord]) -> None:
        backoff = 0.1
        while True:
            try:
                await self._process(records)
                break
            except TRANSIENT_ERRORS as exc:
                log.warning(
                    "batch failed transiently; retrying", topic=partition.topic,
                    partition=partition.partition, error=repr(exc), retry_in=backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        try:
            await self._consumer.commit({partition: records[-1].offset + 1})
        except (CommitFailedError, KafkaError) as exc:
            # The partition moved to another member mid-batch; it will redeliver and the inbox
            # will recognise what we already committed.
            log.warning("offset commit failed after a rebalance", error=repr(exc))

    async def _process(self, records: list[ConsumerRecord]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            for record in records:
                await self._process_one(conn, record)

    async def _process_one(self, conn: asyncpg.Connection, record: ConsumerRecord) -> None:
        try:
            envelope = Envelope.from_bytes(record.value)
        except EnvelopeError as exc:
            message_id = f"raw:{record.topic}/{record.partition}/{record.offset}"
            if await self._claim(conn, record, message_id, None, "dead-lettered"):
                await self._dead_letter(conn, record, None, f"unparseable envelope: {exc}")
            return
        handler = self._spec.handlers.get(envelope.type)
        if handler is None:
            return  # not ours: another event type sharing the topic
        with bound_context(event_id=str(envelope.event_id), correlation_id=str(envelope.correlation_id),
                           event_type=envelope.type):
            if not await self._claim(conn, record, str(envelope.event_id), envelope.type, "handled"):
                self._metrics.events_consumed.labels(self._group, envelope.type, "duplicate").inc()
                return
            try:
                payload = self._catalog.decode(envelope)
                async with conn.transaction():  # savepoint: a failing handler leaves no partial effects
                    await handler(conn, envelope, payload)
            except TRANSIENT_ERRORS:
                raise
            except Exception as exc:  # deterministic: ValidationError, UnknownEventType, HandlerRejected, bugs
                await conn.execute(
                    "UPDATE inbox SET outcome = 'dead-lettered' WHERE consumer_group = $1 AND message_id = $2",
                    self._group, str(envelope.event_id),
                )
                await self._dead_letter(conn, record, envelope, f"{type(exc).__name__}: {exc}")
                return
            self._metrics.events_consumed.labels(self._group, envelope.type, "handled").inc()

    async def _claim(
        self, conn: asyncpg.Connection, record: ConsumerRecord, message_id: str, event_type: str | None,
        outcome: str,
    ) -> bool:
        """Insert the inbox row; False when this group already handled the message."""
        inserted = await conn.fetchval(
            """
            INSERT INTO inbox (message_id, consumer_group, event_type, topic, partition, "offset", outcome)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            message_id, self._group, event_type, record.topic, record.partition, record.offset, outcome,
        )
        return inserted is not None

    async def _dead_letter(
        self, conn: asyncpg.Connection, record: ConsumerRecord, envelope: Envelope | None, reason: str
    ) -> None:
        log.error("event dead-lettered", topic=record.topic, partition=record.partition,
                  offset=record.offset, reason=reason)
        self._metrics.events_consumed.labels(
            self._group, envelope.type if envelope else "unparseable", "dead-lettered"
        ).inc()
        key = record.key.decode("utf-8", "replace") if record.key else None
        letter = DeadLetteredV1(
            consumer_group=self._group,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            source_key=key,
            source_event_id=str(envelope.event_id) if envelope else None,
            source_event_type=envelope.type if envelope else None,
            reason=reason[:2000],
            raw_value=_as_text(record.value),
        )
        dead = new_envelope(
            type=DEAD_LETTERED, schema_version=1, payload=letter, key=key or f"{record.topic}/{record.partition}",
            producer=self._service, occurred_at=self._clock.now(), causation=envelope,
        )
        await enqueue(conn, [(self._deadletter_topic, dead)])


# A dead letter must fit in a Kafka message even when the original was near the size limit.
MAX_RAW_BYTES = 256 * 1024


def _as_text(raw: bytes | None) -> str:
    if raw is None:
        return ""
    suffix = ""
    if len(raw) > MAX_RAW_BYTES:
        raw, suffix = raw[:MAX_RAW_BYTES], f"…[truncated from {len(raw)} bytes]"
    try:
        return raw.decode("utf-8") + suffix
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii") + suffix
