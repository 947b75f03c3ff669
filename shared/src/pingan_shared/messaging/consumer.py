"""Idempotent inbox consumer with dead-lettering.

For each partition batch, one PostgreSQL transaction holds the inbox rows (message id + consumer
group, claimed for the whole batch in one statement) and the handlers' effects. Handlers run under one
savepoint for the batch; only when one fails are they re-run one message at a time, each in its own
savepoint, to isolate the culprit. Offsets are committed to Kafka only after the transaction commits, so:

* a crash before the commit redelivers the batch, and the handler runs again from scratch;
* a crash after the DB commit but before the offset commit redelivers too, and the inbox turns
  the redelivery into a no-op;
* a message that cannot be parsed or whose handler fails deterministically is dead-lettered
  (through the outbox, in the same transaction) and the partition moves on;
* a transient failure (no database connection, a connection lost, a deadlock) retries the whole
  batch with backoff, never skipping it and never dead-lettering it;
* a partition revoked by a rebalance while its batch runs is let go: the batch's transaction still
  commits, the new owner reads the batch again from the last committed offset and the inbox turns what
  was already handled into no-ops. A rebalance never stops the consumer.

Any record, whatever its key and value bytes, ends handled, ignored (another event type on the topic) or
dead-lettered: ``dead_letters`` makes what a dead letter carries storable and bounded.

Partitions are handled one batch at a time, in offset order: no concurrency could commit past an in-flight message.

A broker that restarted empty (the embedded one) has lost the group's offsets and the topics: offsets are committed
only by the membership that fetched the batch, to a coordinator that still knows it (``group_commit``), so the member
rejoins a group without offsets and ``auto_offset_reset="earliest"`` reads the new, empty topics from their start,
where the relays publish the kept events again (``broker_loss``); the inbox drops those already handled. A member that
rejoined before the topics were back joins again once they are (``empty_assignment``)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import BaseModel

from pingan_shared.clock import Clock
from pingan_shared.db.errors import CONNECTION_LOST, RETRY_TRANSACTION, DatabaseUnavailable, connection
from pingan_shared.events.catalog import CATALOG, DEAD_LETTERED, Catalog
from pingan_shared.events.envelope import Envelope, EnvelopeError, new_envelope
from pingan_shared.logs import bound_context, get_logger
from pingan_shared.messaging.dead_letters import dead_letter_key, dead_letter_payload
from pingan_shared.messaging.empty_assignment import EmptyAssignmentWatch
from pingan_shared.messaging.group_commit import CommitRefused, Membership, commit_known_member, membership
from pingan_shared.messaging.kafka import refuse_topic_auto_creation
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.metrics import Metrics

log = get_logger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope, BaseModel], Awaitable[None]]
# Takes a run of consecutive events of one type: lets a handler fold a batch into a few statements.
BatchHandler = Callable[[asyncpg.Connection, Sequence[tuple[Envelope, BaseModel]]], Awaitable[None]]


def one_at_a_time(handler: Handler) -> BatchHandler:
    async def handle(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, BaseModel]]) -> None:
        for envelope, payload in events:
            with bound_context(event_id=str(envelope.event_id), event_type=envelope.type,
                               correlation_id=str(envelope.correlation_id)):
                await handler(conn, envelope, payload)

    return handle


# Failures that say nothing about the message itself: retry the batch instead of dead-lettering.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    *CONNECTION_LOST,
    *RETRY_TRANSACTION,
    asyncio.TimeoutError,
)


@dataclass(frozen=True)
class _Claimed:
    record: ConsumerRecord
    envelope: Envelope
    handler: BatchHandler

    def log_context(self) -> AbstractContextManager[Mapping[str, Any]]:
        return bound_context(event_id=str(self.envelope.event_id), event_type=self.envelope.type,
                             correlation_id=str(self.envelope.correlation_id))


@dataclass(frozen=True)
class _Letter:
    """A message that goes to the dead-letter topic instead of its handler."""

    record: ConsumerRecord
    envelope: Envelope | None
    reason: str


class HandlerRejected(Exception):
    """Raised by a handler for an event that is well-formed but can never be applied."""


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group and what it handles: per-event ``handlers`` and/or ``batch_handlers``."""

    group_id: str
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)
    topics: Sequence[str] = ()

    def __post_init__(self) -> None:
        both = set(self.handlers) & set(self.batch_handlers)
        if both:
            raise ValueError(f"{self.group_id}: {sorted(both)} have both a handler and a batch handler")

    def batch_handler_for(self, event_type: str) -> BatchHandler | None:
        if event_type in self.batch_handlers:
            return self.batch_handlers[event_type]
        handler = self.handlers.get(event_type)
        return one_at_a_time(handler) if handler is not None else None

    def event_types(self) -> set[str]:
        return set(self.handlers) | set(self.batch_handlers)

    def subscribed_topics(self, catalog: Catalog) -> list[str]:
        return sorted(set(self.topics) | {topic for name in self.event_types() for topic in catalog.topics_of(name)})


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
        self._handlers = {name: spec.batch_handler_for(name) for name in spec.event_types()}
        self._topic_prefix = topic_prefix
        self._deadletter_topic = deadletter_topic
        self._topics = [f"{topic_prefix}{t}" for t in spec.subscribed_topics(catalog)]
        refuse_topic_auto_creation()  # a topic the broker lost is created with its partitions, not by subscribing
        self._empty = EmptyAssignmentWatch(self._topics)  # a member given nothing while its topics were gone
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

    def assignment(self) -> set[TopicPartition]:
        """The partitions this member holds now (changes with every rebalance)."""
        return set(self._consumer.assignment())

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000, max_records=self._batch_size)
            fetched_as = membership(self._consumer)  # a commit under another membership is refused (group_commit)
            for partition, records in batches.items():
                if records:
                    await self._process_until_done(partition, records, fetched_as)
            await self._empty.check(self._consumer)

    def _holds(self, partition: TopicPartition) -> bool:
        # A rebalance runs in aiokafka's background task and may take a partition between any two awaits.
        return partition in self._consumer.assignment()

    async def _process_until_done(self, partition: TopicPartition, records: list[ConsumerRecord],
                                  fetched_as: Membership) -> None:
        backoff = 0.1
        while True:
            if not self._holds(partition):
                # revoked since the fetch (or during a retry): its new owner reads these records itself
                log.info("partition revoked; batch left to its new owner", topic=partition.topic,
                         partition=partition.partition, offset=records[0].offset)
                return
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
        next_offset = records[-1].offset + 1
        if not self._holds(partition):
            log.info("partition revoked mid-batch; its new owner redelivers the batch to the inbox",
                     topic=partition.topic, partition=partition.partition, offset=next_offset)
            return
        try:
            await commit_known_member(self._consumer, {partition: next_offset}, fetched_as=fetched_as)
        except (CommitRefused, CommitFailedError, KafkaError, OSError, TimeoutError) as exc:
            # The partition moved to another member, the member joined again since the fetch, or the broker forgot the
            # group (restarted empty): whoever reads it next redelivers from the last committed offset (inbox: no-op).
            log.warning("offset not committed; the batch may be read again", topic=partition.topic,
                        partition=partition.partition, offset=next_offset, error=repr(exc))
            return
        self._report_lag(partition, next_offset)

    def _report_lag(self, partition: TopicPartition, next_offset: int) -> None:
        if not self._holds(partition):  # highwater() asserts the partition is assigned
            return
        highwater = self._consumer.highwater(partition)  # from the last fetch response; None before one
        if highwater is not None:
            self._metrics.consumer_lag.labels(self._group, partition.topic, str(partition.partition)).set(
                max(0, highwater - next_offset))

    async def _process(self, records: list[ConsumerRecord]) -> None:
        letters: list[_Letter] = []
        async with connection(self._pool) as conn, conn.transaction():
            claimed = await self._claim_batch(conn, records, letters)
            if claimed and not await self._handle_together(conn, claimed):
                for item in claimed:
                    await self._handle_alone(conn, item, letters)
            # dead letters in the order of the messages they replace, whatever the failure kind
            letters.sort(key=lambda letter: letter.record.offset)
            await enqueue(conn, [self._dead_letter(letter) for letter in letters])

    async def _claim_batch(
        self, conn: asyncpg.Connection, records: list[ConsumerRecord], letters: list[_Letter]
    ) -> list[_Claimed]:
        """Parse the batch, dead-letter what cannot be parsed, and claim the rest in the inbox in one
        statement; returns the messages this group has not handled before, in offset order."""
        candidates: list[_Claimed] = []
        for record in records:
            try:
                envelope = Envelope.from_bytes(record.value)
            except EnvelopeError as exc:
                if await self._claim_unparseable(conn, record):
                    letters.append(_Letter(record, None, f"unparseable envelope: {exc}"))
                continue
            handler = self._handlers.get(envelope.type)
            if handler is not None:  # else: another event type sharing the topic
                impostor = self._impostor(record, envelope)
                candidates.append(_Claimed(record, envelope, handler if impostor is None else _refuse(impostor)))
        if not candidates:
            return []
        rows = await conn.fetch(
            """
            INSERT INTO inbox (message_id, consumer_group, event_type, topic, partition, "offset", outcome)
            SELECT m, $2, t, r, p, o, 'handled'
            FROM unnest($1::text[], $3::text[], $4::text[], $5::int[], $6::bigint[]) AS u(m, t, r, p, o)
            ON CONFLICT DO NOTHING RETURNING message_id
            """,
            [str(c.envelope.event_id) for c in candidates], self._group, [c.envelope.type for c in candidates],
            [c.record.topic for c in candidates], [c.record.partition for c in candidates],
            [c.record.offset for c in candidates],
        )
        fresh = {row["message_id"] for row in rows}
        claimed = []
        for candidate in candidates:
            message_id = str(candidate.envelope.event_id)
            if message_id in fresh:
                fresh.discard(message_id)  # the same event twice in one batch is handled once
                claimed.append(candidate)
            else:
                self._metrics.events_consumed.labels(self._group, candidate.envelope.type, "duplicate").inc()
        return claimed

    def _impostor(self, record: ConsumerRecord, envelope: Envelope) -> str | None:
        """Why ``envelope`` lies about its sender, or None. A per-producer type's topic is its sender (a real
        cluster lets each service write its own topic only): an envelope naming another producer than the one
        whose topic it arrived on is refused before any handler trusts what it says."""
        if not self._catalog.get(envelope.type).per_producer:
            return None
        topic = record.topic.removeprefix(self._topic_prefix)
        sender = self._catalog.sender_on(envelope.type, topic)
        if sender == envelope.producer:
            return None
        return (f"来源不符：{envelope.type} 声称来自 {envelope.producer}，却在 {sender or '无主'} 的主题 {topic} 上 "
                f"(producer {envelope.producer!r} on topic {topic!r}, which is {sender or 'nobody'}'s)")

    async def _handle_together(self, conn: asyncpg.Connection, claimed: list[_Claimed]) -> bool:
        """Fast path: the whole batch under one savepoint, each run of consecutive same-type events in one
        handler call. False, with nothing applied, when a handler fails deterministically; the caller then
        isolates the culprit message by message."""
        try:
            async with conn.transaction():
                for run in _runs_of_one_type(claimed):
                    events = [(item.envelope, self._catalog.decode(item.envelope)) for item in run]
                    await run[0].handler(conn, events)
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            return False
        for item in claimed:
            self._metrics.events_consumed.labels(self._group, item.envelope.type, "handled").inc()
        return True

    async def _handle_alone(self, conn: asyncpg.Connection, item: _Claimed, letters: list[_Letter]) -> None:
        with item.log_context():
            try:
                payload = self._catalog.decode(item.envelope)
                async with conn.transaction():  # savepoint: a failing handler leaves no partial effects
                    await item.handler(conn, [(item.envelope, payload)])
            except TRANSIENT_ERRORS:
                raise
            except Exception as exc:  # deterministic: ValidationError, UnknownEventType, HandlerRejected, bugs
                await conn.execute(
                    "UPDATE inbox SET outcome = 'dead-lettered' WHERE consumer_group = $1 AND message_id = $2",
                    self._group, str(item.envelope.event_id),
                )
                letters.append(_Letter(item.record, item.envelope, f"{type(exc).__name__}: {exc}"))
                return
        self._metrics.events_consumed.labels(self._group, item.envelope.type, "handled").inc()

    async def _claim_unparseable(self, conn: asyncpg.Connection, record: ConsumerRecord) -> bool:
        """Inbox row for a message without an event id; False if seen before."""
        inserted = await conn.fetchval(
            """
            INSERT INTO inbox (message_id, consumer_group, event_type, topic, partition, "offset", outcome)
            VALUES ($1, $2, NULL, $3, $4, $5, 'dead-lettered')
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            _raw_message_id(record), self._group, record.topic,
            record.partition, record.offset,
        )
        return inserted is not None

    def _dead_letter(self, letter: _Letter) -> tuple[str, Envelope]:
        record, envelope = letter.record, letter.envelope
        payload = dead_letter_payload(record, envelope, letter.reason, self._group)
        log.error("event dead-lettered", topic=record.topic, partition=record.partition,
                  offset=record.offset, reason=payload.reason)
        self._metrics.events_consumed.labels(
            self._group, envelope.type if envelope else "unparseable", "dead-lettered"
        ).inc()
        dead = new_envelope(
            type=DEAD_LETTERED, schema_version=1, payload=payload, key=dead_letter_key(record),
            producer=self._service, occurred_at=self._clock.now(), causation=envelope,
        )
        return self._deadletter_topic, dead


def _refuse(reason: str) -> BatchHandler:
    """A handler that dead-letters its event with ``reason`` (through the inbox's usual path)."""
    async def handle(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, BaseModel]]) -> None:
        raise HandlerRejected(reason)

    return handle


def _raw_message_id(record: ConsumerRecord) -> str:
    """Inbox id of a record without an event id: its position and a digest of its content. The position
    alone is not enough: a broker that forgot a topic (the embedded one on restart) hands out offsets
    again while the inbox remembers them. Redeliveries of one record keep their bytes and timestamp."""
    digest = hashlib.sha256(str(record.timestamp).encode())
    for part in (record.key, record.value):
        digest.update(b"-" if part is None else len(part).to_bytes(8, "big") + part)
    return f"raw:{record.topic}/{record.partition}/{record.offset}/{digest.hexdigest()[:32]}"


def _runs_of_one_type(claimed: list[_Claimed]) -> list[list[_Claimed]]:
    """Consecutive events of one type, in order: batching never reorders events of different types."""
    runs: list[list[_Claimed]] = []
    for item in claimed:
        if runs and runs[-1][0].envelope.type == item.envelope.type:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs

