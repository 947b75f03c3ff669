"""Reading the dead-letter topics: what each service could not parse or handle, and why.

One implementation for ``pingan deadletters`` (``read_dead_letters``: the newest of each topic) and for every
service's ``GET /v1/operations/dead-letters`` (``read_dead_letter_page``: its own topic, a page after a position).

Reads without a consumer group (so it never moves anyone's offsets) until each partition's position
reaches the end offset seen at start, then stops: a snapshot, safe to run against production. Every record
fetched on the way is kept, not only those below that end offset: the embedded tansu broker reports the end
of a multi-record batch as its base offset + 1 (a batch holding offsets 0 and 1 "ends" at 1), while a fetch
always returns whole batches. (So a page that ended inside a batch resumes by fetching that batch again, from its
last record, whatever the end offset says.)

All topics are assigned at once, never one after another: after ``assign()`` the consumer's metadata knows
only the assigned topics (the next topic had no partitions, so read as empty), and a reassignment racing
``stop()`` lets aiokafka's fetcher swallow its cancellation and never stop (aiokafka#983). Every wait is
bounded: the read by ``timeout``, and the whole of it, the consumer's shutdown included, by a thread that is
abandoned if the library still hangs — a command-line tool must return, and a service's request must be answered
(its own event loop never runs the consumer, so a hung one cannot take the service with it). Threads left behind
are counted: past ``MAX_READERS`` at once, a read is refused rather than started.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError, OffsetOutOfRangeError

from pingan_shared.events.catalog import CATALOG
from pingan_shared.events.contracts import DeadLetteredV1
from pingan_shared.events.envelope import Envelope, EnvelopeError
from pingan_shared.messaging.dead_letters import bytes_as_text

Position = tuple[int, int]  # (partition, offset) of a record on a topic
Read = Callable[[AIOKafkaConsumer], Awaitable[object]]  # what a reader does with its consumer

STOP_GRACE_SECONDS = 3.0  # how long the consumer may take to close once the snapshot is read
MAX_READERS = 8  # reads running (or hung in the library) at once in one process
UNREADABLE_VALUE_BUDGET = 4 * 1024  # what is kept of a record that is not a readable dead letter, as text
FETCH_MAX_BYTES = 8 * 1024 * 1024  # one fetch's worth in memory, whatever the topic holds


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    occurred_at: datetime | None
    letter: DeadLetteredV1 | None
    problem: str | None = None  # the record is not a dead letter one can read: why, as said on its line
    value: str | None = None  # such a record's value as text (``dead_letters.bytes_as_text``), cut to 4 KiB

    @property
    def position(self) -> Position:
        return self.partition, self.offset

    def line(self) -> str:
        when = self.occurred_at.isoformat(timespec="seconds") if self.occurred_at else "?"
        if self.letter is None:
            return f"{when}  {self.topic}@{self.offset}  {self.problem}"
        d = self.letter
        event = f"{d.source_event_type} {d.source_event_id}" if d.source_event_id else "(no envelope)"
        return (f"{when}  {d.consumer_group}  {d.source_topic}[{d.source_partition}]@{d.source_offset}  "
                f"{event}\n    reason: {d.reason}")


class DeadLetterReadError(RuntimeError):
    """The broker could not be reached, or did not answer in time."""


def read_dead_letters(bootstrap_servers: str, topics: list[str], *, limit: int,
                      timeout: float) -> dict[str, list[DeadLetter]]:
    """The newest ``limit`` dead letters of each topic that exists (absent topics map to no entry).

    Returns or raises ``DeadLetterReadError`` within about ``timeout`` seconds. The reading runs on its own
    thread and event loop: no in-loop timeout can bound a task that swallows its cancellation, nor
    ``asyncio.run``'s final wait for it, but a daemon thread can be left behind when the process exits."""
    outcome: list[object] = []
    ready = threading.Event()

    def deliver(result: object) -> None:
        outcome.append(result)
        ready.set()

    worker = _start_reader(bootstrap_servers, timeout, lambda c: _read_snapshot(c, topics, limit), deliver)
    if not ready.wait(timeout + STOP_GRACE_SECONDS):
        raise DeadLetterReadError(f"no answer from Kafka at {bootstrap_servers} within {timeout:g} s")
    worker.join(STOP_GRACE_SECONDS)  # let a well-behaved shutdown finish; a hung one is left behind
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    found: dict[str, list[DeadLetter]] = outcome[0]  # type: ignore[assignment]  # what _read_snapshot returned
    return found


async def read_dead_letter_page(bootstrap_servers: str, topic: str, *, after: Position | None, limit: int,
                                timeout: float) -> list[DeadLetter]:
    """Up to ``limit`` records of ``topic`` after ``after``, in (partition, offset) order: the rest of ``after``'s
    partition, then the partitions above it, each from its beginning; none when the topic does not exist.

    For a caller on an event loop (a service's request): awaits the reading thread's answer without blocking the
    loop, and returns or raises ``DeadLetterReadError`` within about ``timeout`` seconds. The thread closes its
    consumer after answering, on its own."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[object] = loop.create_future()

    def settle(result: object) -> None:
        if not answer.done():  # the request may have given up, or gone
            answer.set_result(result)

    def deliver(result: object) -> None:
        with contextlib.suppress(RuntimeError):  # the service's loop closed meanwhile: nobody is waiting
            loop.call_soon_threadsafe(settle, result)

    # A fetch past a partition's end fails rather than jumps to the end: an ``after`` no page gave is known at once.
    _start_reader(bootstrap_servers, timeout, lambda c: _read_page(c, topic, after, limit), deliver,
                  out_of_range="none")
    try:
        result = await asyncio.wait_for(answer, timeout + STOP_GRACE_SECONDS)
    except TimeoutError:
        raise DeadLetterReadError(f"no answer from Kafka at {bootstrap_servers} within {timeout:g} s") from None
    if isinstance(result, Exception):
        raise result
    page: list[DeadLetter] = result  # type: ignore[assignment]  # what _read_page returned
    return page


_readers = threading.BoundedSemaphore(MAX_READERS)


def _start_reader(bootstrap_servers: str, timeout: float, read: Read, deliver: Callable[[object], None], *,
                  out_of_range: str = "latest") -> threading.Thread:
    """Run ``read`` on a consumer of its own, on a daemon thread and loop of its own; ``deliver`` gets its result
    or the exception (``DeadLetterReadError`` for the broker's faults), once, before the consumer is closed."""
    if not _readers.acquire(blocking=False):
        raise DeadLetterReadError(f"{MAX_READERS} reads of the dead letters are still running (a broker that "
                                  "answers too slowly?); try again shortly")

    def run() -> None:
        try:
            asyncio.run(_read_then_close(bootstrap_servers, timeout, read, deliver, out_of_range))
        finally:
            _readers.release()

    worker = threading.Thread(target=run, name="deadletters", daemon=True)
    worker.start()
    return worker


async def _read_then_close(bootstrap_servers: str, timeout: float, read: Read,
                           deliver: Callable[[object], None], out_of_range: str) -> None:
    """Hand over the snapshot (or the reason there is none) before closing the consumer, which may hang."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
                                request_timeout_ms=max(1000, int(timeout * 1000)), fetch_max_bytes=FETCH_MAX_BYTES,
                                auto_offset_reset=out_of_range)
    try:
        async with asyncio.timeout(timeout):
            deliver(await read(consumer))
    except TimeoutError:
        deliver(DeadLetterReadError(f"no answer from Kafka at {bootstrap_servers} within {timeout:g} s"))
    except KafkaConnectionError as exc:
        deliver(DeadLetterReadError(f"cannot reach Kafka at {bootstrap_servers}: {exc}"))
    except KafkaError as exc:
        deliver(DeadLetterReadError(f"Kafka at {bootstrap_servers} answered with an error: {exc!r}"))
    except Exception as exc:  # anything else: the caller's thread raises it
        deliver(exc)
    finally:
        await consumer.stop()


async def _read_snapshot(consumer: AIOKafkaConsumer, topics: list[str], limit: int) -> dict[str, list[DeadLetter]]:
    await consumer.start()
    existing = await consumer.topics()  # metadata of every topic, before assign() narrows it
    present = [topic for topic in topics if topic in existing]
    partitions = [TopicPartition(topic, p)
                  for topic in present for p in sorted(consumer.partitions_for_topic(topic) or ())]
    found: dict[str, list[DeadLetter]] = {topic: [] for topic in present}
    if not partitions:
        return found
    consumer.assign(partitions)
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.beginning_offsets(partitions)
    for partition in partitions:  # only the newest `limit` of each partition are needed
        consumer.seek(partition, max(starts[partition], ends[partition] - limit))
    pending = {p for p in partitions if ends[p] > starts[p]}
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000)
        for partition, records in batches.items():
            found[partition.topic] += [_decode(partition, r.offset, r.value) for r in records]
        pending = {p for p in pending if await consumer.position(p) < ends[p]}
    for topic, letters in found.items():
        letters.sort(key=lambda d: (d.occurred_at is None, d.occurred_at))
        found[topic] = letters[-limit:]
    return found


# How long a look into ``after``'s batch waits for it (ms).
PROBE_WAIT_MS = 250


async def _read_page(consumer: AIOKafkaConsumer, topic: str, after: Position | None,
                     limit: int) -> list[DeadLetter]:
    await consumer.start()
    if topic not in await consumer.topics():  # before assign() narrows the metadata
        return []
    first = after[0] if after else 0
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ()) if p >= first]
    if not partitions:
        return []
    consumer.assign(partitions)
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.beginning_offsets(partitions)
    # Below this offset a partition's records were on an earlier page: ``after``'s partition from its next record.
    below = {p: after[1] + 1 if after and p.partition == after[0] else 0 for p in partitions}
    for partition in partitions:
        # From ``after`` itself unless retention took it: the records after it may be in its batch, past the end the
        # broker reports (tansu: a batch holding 0, 1 and 2 "ends" at 1), so that batch is fetched whatever the end
        # says. Its end is known once fetched: the position moves past it.
        consumer.seek(partition, max(starts[partition], below[partition] - 1, 0))
    page: list[DeadLetter] = []
    for partition in partitions:  # one after another: the page is in (partition, offset) order
        # An empty partition has no batch to look into (any batch would have moved its end past 0).
        batch_of_after = below[partition] > 0 and ends[partition] > starts[partition]
        while len(page) < limit and (batch_of_after or await consumer.position(partition) < ends[partition]):
            # Looking into ``after``'s batch: a batch that is there comes at once, so a short wait; an ``after`` past
            # everything would otherwise cost the whole fetch wait (schemathesis asks for many such pages).
            wait_ms = PROBE_WAIT_MS if batch_of_after else 1000
            batch_of_after = False
            try:
                batches = await consumer.getmany(partition, timeout_ms=wait_ms, max_records=limit - len(page) + 1)
            except OffsetOutOfRangeError:  # ``after`` past the end (or retention racing this read): nothing more here
                break
            page += [_decode(partition, r.offset, r.value)
                     for r in batches.get(partition, []) if r.offset >= below[partition]][: limit - len(page)]
        if len(page) >= limit:
            break
    return page


def _decode(partition: TopicPartition, offset: int, raw: bytes | None) -> DeadLetter:
    topic = partition.topic
    try:
        envelope = Envelope.from_bytes(raw)
        letter = CATALOG.decode(envelope)
    except (EnvelopeError, ValueError, LookupError) as exc:
        return DeadLetter(topic, partition.partition, offset, None, None, value=_as_text(raw),
                          problem=f"unreadable dead letter: {str(exc)[:300]}")
    if not isinstance(letter, DeadLetteredV1):  # a valid event of another type on a dead-letter topic
        return DeadLetter(topic, partition.partition, offset, envelope.occurred_at, None, value=_as_text(raw),
                          problem=(f"not a dead letter: {envelope.type} v{envelope.schema_version} at offset {offset} "
                                   f"(event {envelope.event_id}, from {envelope.producer})"))
    return DeadLetter(topic, partition.partition, offset, envelope.occurred_at, letter)


def _as_text(raw: bytes | None) -> str:
    return "" if raw is None else bytes_as_text(raw, UNREADABLE_VALUE_BUDGET)
