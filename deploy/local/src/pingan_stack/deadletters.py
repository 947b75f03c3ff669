"""Reading the dead-letter topics: what each service could not parse or handle, and why.

Reads without a consumer group (so it never moves anyone's offsets) until each partition's position
reaches the end offset seen at start, then stops: a snapshot, safe to run against production. Every record
fetched on the way is kept, not only those below that end offset: the embedded tansu broker reports the end
of a multi-record batch as its base offset + 1 (a batch holding offsets 0 and 1 "ends" at 1), while a fetch
always returns whole batches.

All topics are assigned at once, never one after another: after ``assign()`` the consumer's metadata knows
only the assigned topics (the next topic had no partitions, so read as empty), and a reassignment racing
``stop()`` lets aiokafka's fetcher swallow its cancellation and never stop (aiokafka#983). Every wait is
bounded: the read by ``timeout``, and the whole of it, the consumer's shutdown included, by a thread that is
abandoned if the library still hangs — a command-line tool must return.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError

from pingan_shared.events.catalog import CATALOG
from pingan_shared.events.contracts import DeadLetteredV1
from pingan_shared.events.envelope import Envelope, EnvelopeError


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    offset: int
    occurred_at: datetime | None
    letter: DeadLetteredV1 | None
    problem: str | None = None  # the record is not a dead letter one can read: why, as said on its line

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


STOP_GRACE_SECONDS = 3.0  # how long the consumer may take to close once the snapshot is read

Outcome = dict[str, list[DeadLetter]] | Exception


def read_dead_letters(bootstrap_servers: str, topics: list[str], *, limit: int,
                      timeout: float) -> dict[str, list[DeadLetter]]:
    """The newest ``limit`` dead letters of each topic that exists (absent topics map to no entry).

    Returns or raises ``DeadLetterReadError`` within about ``timeout`` seconds. The reading runs on its own
    thread and event loop: no in-loop timeout can bound a task that swallows its cancellation, nor
    ``asyncio.run``'s final wait for it, but a daemon thread can be left behind when the process exits."""
    outcome: list[Outcome] = []
    ready = threading.Event()

    def deliver(result: Outcome) -> None:
        outcome.append(result)
        ready.set()

    worker = threading.Thread(target=asyncio.run, name="deadletters", daemon=True,
                              args=(_read_then_close(bootstrap_servers, topics, limit, timeout, deliver),))
    worker.start()
    if not ready.wait(timeout + STOP_GRACE_SECONDS):
        raise DeadLetterReadError(f"no answer from Kafka at {bootstrap_servers} within {timeout:g} s")
    worker.join(STOP_GRACE_SECONDS)  # let a well-behaved shutdown finish; a hung one is left behind
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


async def _read_then_close(bootstrap_servers: str, topics: list[str], limit: int, timeout: float,
                           deliver: Callable[[Outcome], None]) -> None:
    """Hand over the snapshot (or the reason there is none) before closing the consumer, which may hang."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
                                request_timeout_ms=max(1000, int(timeout * 1000)))
    try:
        async with asyncio.timeout(timeout):
            deliver(await _read_snapshot(consumer, topics, limit))
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
            found[partition.topic] += [_decode(partition.topic, r.offset, r.value) for r in records]
        pending = {p for p in pending if await consumer.position(p) < ends[p]}
    for topic, letters in found.items():
        letters.sort(key=lambda d: (d.occurred_at is None, d.occurred_at))
        found[topic] = letters[-limit:]
    return found


def _decode(topic: str, offset: int, raw: bytes | None) -> DeadLetter:
    try:
        envelope = Envelope.from_bytes(raw)
        letter = CATALOG.decode(envelope)
    except (EnvelopeError, ValueError, LookupError) as exc:
        return DeadLetter(topic, offset, None, None, problem=f"unreadable dead letter: {str(exc)[:300]}")
    if not isinstance(letter, DeadLetteredV1):  # a valid event of another type on a dead-letter topic
        return DeadLetter(topic, offset, envelope.occurred_at, None, problem=(
            f"not a dead letter: {envelope.type} v{envelope.schema_version} at offset {offset} "
            f"(event {envelope.event_id}, from {envelope.producer})"))
    return DeadLetter(topic, offset, envelope.occurred_at, letter)
