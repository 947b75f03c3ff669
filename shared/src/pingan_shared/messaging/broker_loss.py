"""A broker that came back having lost what it acknowledged, and the outbox rows published again.

The embedded broker of ``pingan up`` (tansu, memory storage) forgets every topic and every group's offsets when it
restarts; a real Kafka can lose the tail of a partition in an unclean leader election. Events it had acknowledged
(their outbox rows marked sent) but no consumer had read are then gone from the broker — not from the source: sent
rows are kept for ``outbox_retention_hours`` (housekeeping). So the sources carry them:

* **What was acknowledged** — the relay records, per topic partition, the offsets of the latest batch the broker
  acknowledged there (``outbox_acknowledged``: one upsert per published batch, in the transaction that marks its
  rows sent).
* **Finding the loss** — by asking, before a batch goes out, whenever the broker may be another one: at the relay's
  start, after any failed batch, when the producer's connections are not those of the last check (a restarted
  broker cannot keep a connection: the producer had to reconnect), and every ``check_seconds``. The partitions' end
  offsets (ListOffsets; a topic the broker says it lacks is an end of 0, a partition it cannot answer for is unknown
  and asked again later) are compared with the marks of the service's current topics (others' are deleted): an end
  at or below the latest batch's lowest offset means the log lost that batch. (Lowest, not highest: tansu reports
  the end of a multi-record batch as its base offset + 1.) And in-band, for free: a broker that acknowledges an
  offset at or below one it acknowledged before has started the partition's log again. A partial truncation of a
  real Kafka that leaves the end above the mark is found at the partition's next write. Each topic partition is
  written by one service only (the catalog's topics are each one producer's), so its offsets are that relay's alone.
* **Publishing again** — the kept rows of the lost topics first sent within ``window`` (``first_sent_at``, which a
  republish leaves as it was: losses less than a window apart must not keep the same rows in it for ever, past the
  inboxes' retention) are put back in the backlog
  (``sent_at`` cleared) in one transaction with the marks' removal, committed before the next batch (a check of its
  own) or with the batch that found it (in-band), so the relay publishes them again, in id order and before any
  row written after the reset. Per-key order does not hold against the batch in flight when the broker restarted:
  its (newer) rows can reach the new log first, found in-band, and the older rows put back follow; a consumer that
  keeps a key's newest transition (``ordering``) ignores those as stale (docs/broker-loss.md). Fencing needs the
  idempotent producer's epochs, which tansu lacks. Consumers' inboxes drop what they had already handled.
  The marks of the lost partitions go; each loss is a row of ``broker_losses`` (the service's live views watch
  it to rebuild themselves from the record), a warning and ``pingan_broker_losses_total``,
  ``pingan_events_republished_total``.

It holds across the awkward cases: only the replica holding the relay's advisory lock checks and resets, inside
its transaction; a relay that dies while republishing leaves the rest unsent, so whoever publishes next goes
on (one that dies between the broker's acknowledgement of its first batch to a new log and that batch's commit,
without a check before — the broker restarted within that one batch — leaves the marks as they were: the next
relay finds the loss by the end offsets only while the new log stays below them); a broker that restarts again
is found again (its new marks are the republished rows'), and the window's rows go out once more — duplicates the
inboxes absorb, never a gap.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, for_code
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.protocol.offset import OffsetRequest

from pingan_shared.logs import get_logger
from pingan_shared.metrics import Metrics

log = get_logger(__name__)

Partition = tuple[str, int]  # (topic, partition)
_LATEST = -1  # ListOffsets' timestamp for "the end of the log"
_READ_UNCOMMITTED = 0
_UNKNOWN_TOPIC_OR_PARTITION = 3


@dataclass(frozen=True)
class Acknowledged:
    """The offsets the broker acknowledged on one partition in one relay batch."""

    topic: str
    partition: int
    low: int
    high: int


def acknowledged(deliveries: Iterable[tuple[str, int, int]]) -> list[Acknowledged]:
    """Per partition, the lowest and highest of the (topic, partition, offset) the broker answered."""
    spans: dict[Partition, tuple[int, int]] = {}
    for topic, partition, offset in deliveries:
        low, high = spans.get((topic, partition), (offset, offset))
        spans[(topic, partition)] = (min(low, offset), max(high, offset))
    return [Acknowledged(topic, partition, low, high) for (topic, partition), (low, high) in sorted(spans.items())]


# One statement: the new marks replace the old, and the partitions whose new lowest offset is not above the old
# highest come back (every part of a statement sees the table as it was before the statement).
_RECORD = """
    WITH acked AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[]) AS a(topic, partition, low, high)
    ), before AS (
        SELECT k.topic, k.partition, k.high_offset FROM outbox_acknowledged k JOIN acked USING (topic, partition)
    ), marked AS (
        INSERT INTO outbox_acknowledged AS k (topic, partition, low_offset, high_offset)
        SELECT topic, partition, low, high FROM acked
        ON CONFLICT (topic, partition) DO UPDATE
            SET low_offset = EXCLUDED.low_offset, high_offset = EXCLUDED.high_offset, acknowledged_at = now()
    )
    SELECT a.topic, a.partition FROM acked a JOIN before b USING (topic, partition) WHERE a.low <= b.high_offset
"""


async def record(conn: asyncpg.Connection, acked: Sequence[Acknowledged]) -> list[Partition]:
    """Record a batch's acknowledgements; returns the partitions whose offsets went back (their log started again)."""
    if not acked:
        return []
    rows = await conn.fetch(_RECORD, [a.topic for a in acked], [a.partition for a in acked],
                            [a.low for a in acked], [a.high for a in acked])
    return sorted((row["topic"], row["partition"]) for row in rows)


async def went_back(conn: asyncpg.Connection, acked: Sequence[Acknowledged]) -> list[Partition]:
    """The partitions whose acknowledged offsets are not above the marks (their log started again); records nothing."""
    if not acked:
        return []
    rows = await conn.fetch(
        """SELECT a.topic, a.partition
           FROM unnest($1::text[], $2::int[], $3::bigint[]) AS a(topic, partition, low)
           JOIN outbox_acknowledged k USING (topic, partition) WHERE a.low <= k.high_offset""",
        [a.topic for a in acked], [a.partition for a in acked], [a.low for a in acked])
    return sorted((row["topic"], row["partition"]) for row in rows)


async def end_offsets(producer: AIOKafkaProducer, partitions: Sequence[Partition]) -> dict[Partition, int]:
    """The broker's end offset of each partition it can tell now: 0 for a topic it answers it does not have
    (UNKNOWN_TOPIC_OR_PARTITION, asked by name) or a partition the topic no longer has. A partition it cannot tell
    about now — a topic answered with another error, no leader, a ListOffsets error or a leader that does not answer —
    is left out: unknown, asked again at the next check (one bad partition must not stop the relay, nor look lost).
    Asked through the producer's own client (no consumer, no group): the metadata of the marked topics only (which
    creates none: ``kafka.refuse_topic_auto_creation``), then one ListOffsets per leader. Raises when no broker
    answers the metadata request."""
    client = producer.client
    node = client.get_random_node()
    if node is None:
        raise KafkaConnectionError("no broker known to ask for the end offsets")
    metadata = await client.send(node, MetadataRequest(sorted({topic for topic, _ in partitions})))
    leaders: dict[str, dict[int, int]] = {}  # topic → partition → leader, for the topics the broker has
    gone: set[str] = set()
    for topic_data in metadata.topics:
        error_code, topic = topic_data[0], topic_data[1]
        if error_code == _UNKNOWN_TOPIC_OR_PARTITION:
            gone.add(topic)
        elif error_code == 0:
            answers = topic_data[2] if metadata.API_VERSION == 0 else topic_data[3]
            leaders[topic] = {partition: leader for _, partition, leader, *_ in answers}
        else:
            log.warning("end offsets unknown: the broker answered the topic's metadata with an error", topic=topic,
                        error=for_code(error_code).__name__)
    ends: dict[Partition, int] = {}
    by_leader: dict[int, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for topic, partition in partitions:
        if topic in gone or (topic in leaders and partition not in leaders[topic]):
            ends[(topic, partition)] = 0
        elif topic in leaders:
            leader = leaders[topic][partition]
            if leader < 0:
                log.warning("end offset unknown: the partition has no leader", topic=topic, partition=partition)
                continue
            by_leader[leader][topic].append((partition, _LATEST))
    responses = await asyncio.gather(*(
        client.send(leader, OffsetRequest(-1, _READ_UNCOMMITTED, list(topics.items())))
        for leader, topics in by_leader.items()), return_exceptions=True)
    for leader, response in zip(by_leader, responses, strict=True):
        if isinstance(response, BaseException):
            if not isinstance(response, Exception):
                raise response
            log.warning("end offsets unknown: the leader did not answer", leader=leader, error=repr(response))
            continue
        for topic, answers in response.topics:
            for partition, error_code, *answer in answers:
                if error_code:
                    log.warning("end offset unknown: ListOffsets answered an error", topic=topic, partition=partition,
                                error=for_code(error_code).__name__)
                    continue
                # v0 answers a list of offsets; later versions a timestamp and the offset
                ends[(topic, partition)] = int(answer[0][0] if response.API_VERSION == 0 else answer[1])
    return ends


class LossWatch:
    """The relay's side of it: when to ask the broker, and what to do when it lost something. Every method runs in
    the relay's batch transaction, under its advisory lock."""

    def __init__(self, producer: AIOKafkaProducer, metrics: Metrics, *, window: timedelta, check_seconds: float,
                 ensure_topics: Callable[[], Awaitable[None]] | None = None,
                 topics: Collection[str] | None = None) -> None:
        self._producer = producer
        # the service's topics (prefixed): only their marks are checked and only their rows put back (None: all)
        self._topics = frozenset(topics) if topics is not None else None
        self._metrics = metrics
        self._window = window
        self._check_seconds = check_seconds
        self._ensure_topics = ensure_topics
        self._next_check = float("-inf")  # at the start: a relay may come back to a broker that lost data meanwhile
        # Partitions found in-band to have started again, kept in memory until the check that acts on them commits:
        # a rollback (the check failed) takes the marks' evidence with it, and the retried batch's offsets may be past
        # the marks already, its end too.
        self._went_back: set[Partition] = set()
        self._acting_on: set[Partition] = set()
        self._checked_links: tuple[tuple[object, int], ...] = ()

    def suspect(self) -> None:
        """A batch failed (broker or database away): ask the broker before the next batch goes out."""
        self._next_check = float("-inf")

    def went_back(self, partitions: Iterable[Partition]) -> None:
        """The broker acknowledged offsets at or below those it acknowledged before on ``partitions``: a loss, whatever
        happens to the transaction that found it; the next check (forced) includes them until one commits."""
        self._went_back.update(partitions)  # the next batch checks first (``due``)

    async def note_partial(self, conn: asyncpg.Connection, deliveries: Sequence[tuple[str, int, int]]) -> None:
        """A batch failed after the broker acknowledged some of it: compare those with the marks (read only; the
        batch's transaction is about to roll back), so a log that started again is not missed."""
        if not deliveries:
            return
        try:
            self.went_back(await went_back(conn, acknowledged(deliveries)))
        except Exception as exc:  # the database is away too: the failure's own check is all there is
            log.warning("acknowledgements of a failed batch not compared", error=repr(exc))

    def committed(self) -> None:
        """The transaction of the last check committed: what it acted on is recorded."""
        self._went_back -= self._acting_on
        self._acting_on = set()

    @property
    def due(self) -> bool:
        return (bool(self._went_back)  # found in-band and not yet acted on in a committed transaction
                or time.monotonic() >= self._next_check or self._links() != self._checked_links)

    def _links(self) -> tuple[tuple[object, int], ...]:
        """The producer's open connections, by identity: a new one since the last check may reach a new broker.
        (aiokafka's client keeps them in ``_conns``, a private attribute; without it, only the timer and failures
        would trigger a check: ``test_the_aiokafka_internals_the_recovery_reads_are_there`` fails if it moves.)"""
        conns = getattr(getattr(self._producer, "client", None), "_conns", None) or {}
        return tuple(sorted(((key, id(conn)) for key, conn in list(conns.items()) if conn.connected()),
                            key=lambda link: repr(link[0])))

    async def create_topics(self) -> None:
        """Create the service's topics (a broker that lost them); a failure is left to the next try."""
        if self._ensure_topics is None:
            return
        try:
            await self._ensure_topics()
        except Exception as exc:
            log.warning("topics not created", error=repr(exc))

    async def check(self, conn: asyncpg.Connection) -> int:
        """Compare the marks with the broker's end offsets (plus the partitions found in-band, ``went_back``); on a
        loss, put the window's kept rows of the lost topics back in the backlog. Returns how many rows were put back.
        Raises when the broker does not answer (the relay retries, asking again first); the in-band partitions stay
        for the next check until the relay says this one's transaction committed (``committed``)."""
        self._acting_on = set()
        marks = await self._current_marks(conn)
        ends = await end_offsets(self._producer, [(m["topic"], m["partition"]) for m in marks]) if marks else {}
        self._next_check = time.monotonic() + self._check_seconds
        self._checked_links = self._links()
        # a partition whose end is unknown now (left out of ``ends``) is not lost: the next check asks again
        behind = [(m["topic"], m["partition"]) for m in marks
                  if ends.get((m["topic"], m["partition"]), m["low_offset"] + 1) <= m["low_offset"]]
        in_band = sorted(p for p in self._went_back if self._current(p[0]))
        lost = sorted({*in_band, *behind})
        republished = 0
        if lost:
            republished = await self._republish(conn, lost, how="acknowledged again" if in_band else "end offset")
        self._acting_on = set(self._went_back)
        return republished

    def _current(self, topic: str) -> bool:
        return self._topics is None or topic in self._topics

    async def _current_marks(self, conn: asyncpg.Connection) -> list[asyncpg.Record]:
        """The marks of the service's current topics; those of others (a topic retired or renamed, another prefix)
        are deleted: such a topic would look lost for ever, its rows put back for a topic nobody creates."""
        marks = await conn.fetch("SELECT topic, partition, low_offset FROM outbox_acknowledged")
        retired = sorted({m["topic"] for m in marks if not self._current(m["topic"])})
        if retired:
            await conn.execute("DELETE FROM outbox_acknowledged WHERE topic = ANY($1::text[])", retired)
            log.info("marks of topics the service no longer writes deleted", topics=retired)
        return [m for m in marks if self._current(m["topic"])]

    async def _republish(self, conn: asyncpg.Connection, lost: Sequence[Partition], *, how: str) -> int:
        topics = sorted({topic for topic, _ in lost})
        if self._ensure_topics is not None:
            # a topic the broker lost may be missing: created with its partitions before anything is sent to it
            # (a send would have the broker make it with its own default)
            await self._ensure_topics()
        counts = await conn.fetch(
            """
            WITH reset AS (
                UPDATE outbox SET sent_at = NULL
                WHERE sent_at IS NOT NULL AND first_sent_at >= now() - $1::interval AND topic = ANY($2::text[])
                RETURNING topic
            )
            SELECT topic, count(*) AS n FROM reset GROUP BY topic
            """,
            self._window, topics,
        ) if self._window > timedelta(0) else []
        await conn.execute(
            """DELETE FROM outbox_acknowledged k USING unnest($1::text[], $2::int[]) AS l(topic, partition)
               WHERE k.topic = l.topic AND k.partition = l.partition""",
            [topic for topic, _ in lost], [partition for _, partition in lost])
        republished = sum(row["n"] for row in counts)
        names = [f"{topic}/{partition}" for topic, partition in lost]
        await conn.execute("INSERT INTO broker_losses (how, partitions, republished) VALUES ($1, $2, $3)",
                           how, names, republished)
        self._metrics.broker_losses.labels(how=how).inc()
        for row in counts:
            self._metrics.events_republished.labels(topic=row["topic"]).inc(row["n"])
        log.warning("the broker lost events it had acknowledged; publishing the kept outbox rows again",
                    how=how, partitions=names, republished=republished,
                    window_hours=self._window.total_seconds() / 3600)
        return republished


async def latest_loss(conn: asyncpg.Connection) -> int:
    """The id of the latest loss recorded in this database (0: none): what a live view rebuilt from the record
    compares with the one it last saw."""
    return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM broker_losses"))

