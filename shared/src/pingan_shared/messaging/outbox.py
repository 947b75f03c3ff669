"""Transactional outbox and its relay.

``enqueue`` is called inside the caller's transaction, next to the state change it announces, so
the two commit or vanish together. ``OutboxRelay`` publishes unsent rows in id order (hence in
order per key and partition), waits for acks=all, then marks them sent. A crash between publish
and mark re-publishes on restart: duplicates, never loss; consumers' inboxes absorb duplicates.

Per-key sequence: ``enqueue`` gives every event its key's next sequence number (1, 2, 3 …) from the
``outbox_key_sequence`` counter, in the caller's transaction, and writes it into the envelope bytes. The
counter row stays locked until that transaction ends, so two transactions on one key run their enqueues
one after the other and commit in sequence order (and in id order). Delivery can still reorder a key's
events (an expired producer batch re-sent after a later one, a re-publish after a crash, a row re-sent
alone after its batch was refused, a parked row handed back, a batch in flight across a broker restart that
lands before the older rows put back: ``broker_loss``): consumers tell by the sequence
(``messaging.ordering``). Keep the enqueue near the end of a transaction: from there to the commit, every
other writer of the same key waits.

The counters (``outbox_key_sequence``, one row per key ever written) are never purged, not even by
housekeeping: a purged counter would start its key again at 1, and every consumer that had applied a higher
sequence of that key would ignore the key's new events as stale. The table grows with the number of distinct
keys, not of events.

Deadlocks: one ``enqueue`` locks its keys' counter rows in key order, so two enqueues on overlapping keys only
wait for each other. But the locks are held until the transaction ends, and a transaction that calls
``enqueue`` several times takes its keys in call order: a consumer batch (once per handled event, or per run
of same-type events, each handler's own enqueue, then the dead letters) or a timer batch (once per timer)
can deadlock with another such transaction enqueuing overlapping keys in another order (A then B against B
then A). PostgreSQL notices after ``deadlock_timeout`` (1 s by default) and ends one of them with a
``DeadlockDetectedError``, a ``RETRY_TRANSACTION``: a consumer retries its whole batch, a timer is deferred
(its savepoint undone, no attempt used), a request gets a 503 to retry. Nothing is lost, but each costs
``deadlock_timeout`` and the work redone. So: call ``enqueue`` once per transaction, with all its events (the
order given is kept per key; the keys are locked sorted), as late as possible before the commit. A
transaction that must enqueue in several steps should take its keys in one agreed order.

Parking: a row the broker refuses for good (too large, an illegal topic) would otherwise be retried
forever and hold back every row after it. The relay parks it instead (``parked_at``, ``parked_error``),
counts it in ``pingan_outbox_parked`` and goes on; ``pingan outbox parked`` lists parked rows and
``pingan outbox retry`` puts one back once its cause is fixed. Transient failures (broker away, timeouts,
leader moves, an expired batch) never park: the batch is retried with backoff.

A broker that comes back having lost what it acknowledged (the embedded one after a restart) is found by the
relay, which publishes the kept rows of the lost topics again (``broker_loss``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import UnknownTopicOrPartitionError

from pingan_shared.db.errors import connection, is_closed
from pingan_shared.db.listening import listen, unlisten
from pingan_shared.events.envelope import Envelope
from pingan_shared.logs import get_logger
from pingan_shared.messaging import broker_loss
from pingan_shared.messaging.refusals import illegal_topic, refused_for_good
from pingan_shared.metrics import Metrics

log = get_logger(__name__)

# Only one relay per database publishes at a time, so order per key survives several replicas.
_RELAY_LOCK_ID = 0x4F555442  # "OUTB"

# One statement per enqueue, whatever the number of events: a count per distinct key. Keys are locked in
# key order so two writers of overlapping key sets cannot deadlock inside it.
_BUMP_SEQUENCES = """
    INSERT INTO outbox_key_sequence AS s (key, last_sequence)
    SELECT key, n FROM unnest($1::text[], $2::bigint[]) AS k(key, n) ORDER BY key
    ON CONFLICT (key) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence
    RETURNING key, last_sequence
"""


def with_sequence(envelope: Envelope, sequence: int) -> Envelope:
    """A copy of ``envelope`` numbered ``sequence``. Shallow-copied and set directly, not ``model_copy``: on the
    intake's hot path (an upload is 500 events) that halves the cost, and the copy is new, so the frozen original
    is untouched; a sequence from the counter is a positive int, as the field requires."""
    numbered = copy.copy(envelope)
    numbered.__dict__["sequence"] = sequence
    numbered.__pydantic_fields_set__.add("sequence")
    return numbered


async def enqueue(conn: asyncpg.Connection, items: Sequence[tuple[str, Envelope]]) -> list[Envelope]:
    """Add (topic, envelope) pairs to the outbox inside the caller's transaction; returns the envelopes as
    stored, each with its key's next sequence number (in the order given)."""
    if not items:
        return []
    keys = [envelope.key for _, envelope in items]
    counts = Counter(keys)  # one row per distinct key: a scan upload is 500 events of one team
    bumped = {row["key"]: row["last_sequence"]
              for row in await conn.fetch(_BUMP_SEQUENCES, list(counts), list(counts.values()))}
    next_sequence = {key: bumped[key] - count + 1 for key, count in counts.items()}
    stored = []
    for _, envelope in items:
        sequence = next_sequence[envelope.key]
        next_sequence[envelope.key] = sequence + 1
        stored.append(with_sequence(envelope, sequence))
    await conn.execute(
        """
        INSERT INTO outbox (event_id, topic, key, event_type, schema_version, sequence, value)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::bytea[])
        """,
        [env.event_id for env in stored],
        [topic for topic, _ in items],
        keys,
        [env.type for env in stored],
        [env.schema_version for env in stored],
        [env.sequence for env in stored],
        [env.to_bytes() for env in stored],
    )
    return stored


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        metrics: Metrics,
        *,
        batch_size: int = 500,
        idle_poll_seconds: float = 1.0,
        count_interval_seconds: float = 5.0,
        gauges: OutboxGauges | None = None,
        republish_window: timedelta = timedelta(hours=24),
        loss_check_seconds: float = 5.0,
        ensure_topics: Callable[[], Awaitable[None]] | None = None,
        topics: Collection[str] | None = None,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._metrics = metrics
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        # A service passes the gauges its counting loop keeps (so the two never count twice in an interval);
        # a relay on its own counts for itself.
        self._gauges = gauges or OutboxGauges(pool, metrics, interval_seconds=count_interval_seconds)
        self._wake = asyncio.Event()
        self._acked_before_failure: list[tuple[str, int, int]] = []
        # sent rows the broker lost are published again from the kept ones (broker_loss); ``topics``: the service's
        # topics, the only ones whose losses count (None: every topic the relay marked)
        self._losses = broker_loss.LossWatch(producer, metrics, window=republish_window,
                                             check_seconds=loss_check_seconds, ensure_topics=ensure_topics,
                                             topics=topics)

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        backoff = 0.1
        try:
            while True:
                try:
                    if listener is None or is_closed(listener):
                        listener = await self._listen()
                    handled = await self.publish_batch()
                    backoff = 0.1
                except Exception as exc:
                    # Broker or database away: the rows stay unsent; retry with backoff. Nothing is lost.
                    log.warning("outbox relay failed; will retry", error=repr(exc), retry_in=backoff)
                    self._losses.suspect()  # the broker may come back another one: ask it before the next batch
                    if isinstance(exc, UnknownTopicOrPartitionError):  # a broker that lost its topics, say
                        await self._losses.create_topics()
                    await self._drop(listener)
                    listener = None
                    await self._count_while_stuck()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if handled < self._batch_size:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle_poll)
        finally:
            await self._drop(listener)

    async def _listen(self) -> asyncpg.Connection:
        """A dedicated connection LISTENing for new outbox rows (polling covers a lost notification)."""
        return await listen(self._pool, "outbox", self._on_notify)

    async def _drop(self, listener: asyncpg.Connection | None) -> None:
        await unlisten(self._pool, listener, "outbox", self._on_notify)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_batch(self) -> int:
        """Publish one batch of unsent rows, parking those refused for good; returns how many rows left the
        backlog (published or parked). A transient failure raises and leaves the whole batch unsent."""
        if self._losses.due:
            await self._check_for_loss()
        handled = await self._publish_batch()
        self._losses.committed()  # the in-band evidence it acted on is in the database now
        return handled

    async def _publish_batch(self) -> int:
        async with connection(self._pool) as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK_ID):
                await self._gauges.count_if_due(conn)  # standing by, yet the backlog is this database's too
                return 0  # another replica's relay is publishing
            rows = await conn.fetch(
                """
                SELECT id, topic, key, event_id, event_type, schema_version, value
                FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT $1
                """,
                self._batch_size,
            )
            try:
                refused, delivered = await self._deliver(rows) if rows else ({}, [])
            except Exception:
                # what the broker acknowledged before the failure may prove a log that started again: kept for the
                # next check, as a retry's offsets may already be past the marks
                await self._losses.note_partial(conn, self._acked_before_failure)
                raise
            sent = [row for row in rows if row["id"] not in refused]
            if sent:
                await conn.execute(
                    # first_sent_at stays that of the first publish (a republish after a loss is not one): the
                    # republish window and the purge count from it
                    """UPDATE outbox SET sent_at = now(), first_sent_at = coalesce(first_sent_at, now())
                       WHERE id = ANY($1::bigint[])""", [r["id"] for r in sent]
                )
            went_back = await broker_loss.record(conn, broker_loss.acknowledged(delivered))
            if went_back:  # this batch went to a log that started again: the kept rows follow it, in id order
                # remembered first: should the check fail, the rollback takes the evidence, and the retry's offsets
                # may be past the marks already
                self._losses.went_back(went_back)
                await self._losses.check(conn)
            if refused:
                await self._park(conn, rows, refused)
            for row in sent:
                self._metrics.events_published.labels(topic=row["topic"]).inc()
            if len(rows) < self._batch_size:
                self._metrics.outbox_backlog.set(0)  # exact, as of this batch: nothing more was waiting
            if refused:
                await self._gauges.count(conn)
            else:
                await self._gauges.count_if_due(conn)
            return len(rows)

    async def _check_for_loss(self) -> None:
        """Ask the broker whether it lost what it acknowledged, in a transaction of its own: the rows it puts back
        stay put back whatever happens to the batches that publish them again."""
        async with connection(self._pool) as conn, conn.transaction():
            if await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK_ID):
                await self._losses.check(conn)
        self._losses.committed()

    async def _deliver(self, rows: Sequence[asyncpg.Record]) -> tuple[dict[int, str], list[tuple[str, int, int]]]:
        """Send every row and wait for the acks; returns the rows refused for good, by id, with the reason, and
        where the broker put the others (topic, partition, offset). Raises on the first transient failure, once the
        rows already sent are answered (what the broker acknowledged of them: ``_acked_before_failure``)."""
        refused: dict[int, str] = {}
        delivered: list[tuple[str, int, int]] = []
        in_flight: list[tuple[asyncpg.Record, asyncio.Future[object]]] = []
        self._acked_before_failure = delivered
        for row in rows:
            problem = illegal_topic(row["topic"])
            if problem is not None:
                refused[row["id"]] = problem
                continue
            try:
                in_flight.append((row, await self._send(row)))
            except Exception as exc:
                if not refused_for_good(exc):
                    delivered.extend(_acks(await asyncio.gather(*(f for _, f in in_flight), return_exceptions=True)))
                    raise
                refused[row["id"]] = _describe(exc)  # refused before sending: this row and no other
        outcomes = await asyncio.gather(*(future for _, future in in_flight), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not refused_for_good(outcome):
                delivered.extend(_acks(outcomes))
                if not isinstance(outcome, Exception):  # a cancelled delivery: the producer is stopping
                    raise RuntimeError(f"delivery interrupted: {outcome!r}") from outcome
                raise outcome
        # The broker refuses a produce batch as a whole, so every row sharing a batch with the culprit got
        # the same refusal. Send each of them alone to find which rows are refused for themselves.
        for (row, _), outcome in zip(in_flight, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                try:
                    outcome = await (await self._send(row))
                except Exception as exc:
                    if not refused_for_good(exc):
                        raise
                    refused[row["id"]] = _describe(exc)
                    continue
            if outcome is not None:  # RecordMetadata (None only for acks=0, which the relay never uses)
                delivered.append((outcome.topic, outcome.partition, outcome.offset))  # type: ignore[attr-defined]
        return refused, delivered

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[object]:
        headers = [
            ("event_type", row["event_type"].encode()),
            ("schema_version", str(row["schema_version"]).encode()),
            ("event_id", str(row["event_id"]).encode()),
        ]
        future: asyncio.Future[object] = await self._producer.send(
            row["topic"], value=row["value"], key=row["key"].encode(), headers=headers
        )
        return future

    async def _park(self, conn: asyncpg.Connection, rows: Sequence[asyncpg.Record], refused: dict[int, str]) -> None:
        ids = sorted(refused)
        await conn.execute(
            """
            UPDATE outbox SET parked_at = now(), parked_error = p.error
            FROM unnest($1::bigint[], $2::text[]) AS p(id, error) WHERE outbox.id = p.id
            """,
            ids, [refused[i] for i in ids],
        )
        for row in rows:
            if row["id"] in refused:
                log.error("outbox row refused for good; parked", outbox_id=row["id"], topic=row["topic"],
                          key=row["key"], event_id=str(row["event_id"]), event_type=row["event_type"],
                          size=len(row["value"]), error=refused[row["id"]])

    async def _count_while_stuck(self) -> None:
        """While publishing fails the backlog grows: keep the gauges true if the database answers."""
        await self._gauges.count_if_due_on_pool()


class OutboxGauges:
    """``pingan_outbox_backlog`` and ``pingan_outbox_parked``, counted from the outbox itself.

    Every replica runs ``run()`` from the start of its service, whether or not a broker ever answered and
    whether or not its relay holds the publishing lock: the backlog grows precisely while nothing publishes.
    Each count reads only a partial index (unsent and unparked rows; parked rows), at most once every
    ``interval_seconds`` whoever asks (the loop, or the relay after a batch), so a large backlog is not
    counted on every batch.
    """

    def __init__(self, pool: asyncpg.Pool, metrics: Metrics, *, interval_seconds: float = 5.0) -> None:
        self._pool = pool
        self._metrics = metrics
        self._interval = interval_seconds
        self._counted_at = float("-inf")

    def _due_in(self) -> float:
        return self._counted_at + self._interval - time.monotonic()

    async def count(self, conn: asyncpg.Connection) -> None:
        """Set both gauges now."""
        backlog, parked = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL),
                   (SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL)
            """
        )
        self._metrics.outbox_backlog.set(backlog)
        self._metrics.outbox_parked.set(parked)
        self._counted_at = time.monotonic()

    async def count_if_due(self, conn: asyncpg.Connection) -> None:
        if self._due_in() <= 0:
            await self.count(conn)

    async def count_if_due_on_pool(self) -> None:
        """Count on a pooled connection if due; a database that does not answer leaves the gauges as they
        were (tried again an interval later)."""
        if self._due_in() > 0:
            return
        try:
            async with connection(self._pool) as conn:
                await self.count(conn)
        except Exception as exc:
            self._counted_at = time.monotonic()
            log.debug("outbox not counted", error=repr(exc))

    async def run(self) -> None:
        """Keep the gauges at most ``interval_seconds`` old, forever."""
        while True:
            await self.count_if_due_on_pool()
            await asyncio.sleep(max(self._due_in(), 0.05))


def _acks(outcomes: Sequence[object]) -> list[tuple[str, int, int]]:
    """Where the broker put the sends that succeeded among ``outcomes`` (RecordMetadata, or the exception)."""
    return [(o.topic, o.partition, o.offset) for o in outcomes  # type: ignore[attr-defined]
            if o is not None and not isinstance(o, BaseException)]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]
