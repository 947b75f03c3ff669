"""Reading the dead-letter topics: what each service could not parse or handle, and why.

Reads without a consumer group (so it never moves anyone's offsets) until each partition's position
reaches the end offset seen at start, then stops: a snapshot, safe to run against production. Every record
fetched on the way is kept, not only those below that end offset: the embedded tansu broker reports the end
of a multi-record batch as its base offset + 1 (a batch holding offsets 0 and 1 "ends" at 1), while a fetch
always returns whole batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from pingan_shared.events.catalog import CATALOG
from pingan_shared.events.contracts import DeadLetteredV1
from pingan_shared.events.envelope import Envelope, EnvelopeError


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    offset: int
    occurred_at: datetime | None
    letter: DeadLetteredV1 | None
    problem: str | None = None  # the dead letter itself could not be read

    def line(self) -> str:
        when = self.occurred_at.isoformat(timespec="seconds") if self.occurred_at else "?"
        if self.letter is None:
            return f"{when}  {self.topic}@{self.offset}  unreadable dead letter: {self.problem}"
        d = self.letter
        event = f"{d.source_event_type} {d.source_event_id}" if d.source_event_id else "(no envelope)"
        return (f"{when}  {d.consumer_group}  {d.source_topic}[{d.source_partition}]@{d.source_offset}  "
                f"{event}\n    reason: {d.reason}")


async def read_dead_letters(bootstrap_servers: str, topics: list[str], *, limit: int) -> dict[str, list[DeadLetter]]:
    """The newest ``limit`` dead letters of each topic that exists (absent topics map to no entry)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False)
    try:
        await consumer.start()
        existing = await consumer.topics()
        found: dict[str, list[DeadLetter]] = {}
        for topic in topics:
            if topic in existing:
                found[topic] = await _read_topic(consumer, topic, limit)
        return found
    finally:
        await consumer.stop()


async def _read_topic(consumer: AIOKafkaConsumer, topic: str, limit: int) -> list[DeadLetter]:
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.beginning_offsets(partitions)
    for partition in partitions:  # only the newest `limit` of each partition are needed
        consumer.seek(partition, max(starts[partition], ends[partition] - limit))
    letters: list[DeadLetter] = []
    pending = {p for p in partitions if ends[p] > starts[p]}
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000)
        for records in batches.values():
            letters += [_decode(topic, r.offset, r.value) for r in records]
        pending = {p for p in pending if await consumer.position(p) < ends[p]}
    letters.sort(key=lambda d: (d.occurred_at is None, d.occurred_at))
    return letters[-limit:]


def _decode(topic: str, offset: int, raw: bytes | None) -> DeadLetter:
    try:
        envelope = Envelope.from_bytes(raw)
        letter = CATALOG.decode(envelope)
    except (EnvelopeError, ValueError, LookupError) as exc:
        return DeadLetter(topic, offset, None, None, problem=str(exc)[:300])
    assert isinstance(letter, DeadLetteredV1)
    return DeadLetter(topic, offset, envelope.occurred_at, letter)
