"""Which producer failures mean "this record will never be accepted" and which mean "try again later".

aiokafka's own ``retriable`` flag does not answer that: it marks an expired batch (``KafkaTimeoutError``)
and a metadata wait that ran out as not retriable although the broker was only away or slow. So the
outbox relay parks a row only on the short list below — refusals of the record itself, or of a topic name
no broker accepts — and treats everything else as transient (retried with backoff, never parked):
broker away (``KafkaConnectionError``, ``NoBrokersAvailable``), timeouts (``KafkaTimeoutError``,
``RequestTimedOutError``), leader moves (``NotLeaderForPartitionError``, ``LeaderNotAvailableError``),
too few in-sync replicas, a topic not created yet (``UnknownTopicOrPartitionError``), and configuration
problems that affect every row alike (authorization), which parking row by row would not fix.
"""

from __future__ import annotations

import re

from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

# MESSAGE_TOO_LARGE (10; also raised by the producer itself over max_request_size), RECORD_LIST_TOO_LARGE
# (18), INVALID_TOPIC_EXCEPTION (17).
REFUSED_FOR_GOOD: tuple[type[Exception], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    InvalidTopicError,
)

# Kafka's rule for topic names (org.apache.kafka.common.internals.Topic): at most 249 of these characters.
_LEGAL_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


def refused_for_good(exc: BaseException) -> bool:
    return isinstance(exc, REFUSED_FOR_GOOD)


def illegal_topic(topic: str) -> str | None:
    """Why no broker will ever accept ``topic``, or None. Checked before sending, because aiokafka would
    wait out its metadata timeout on such a name and then report a retriable UnknownTopicOrPartitionError."""
    if _LEGAL_TOPIC.fullmatch(topic) is None or topic in {".", ".."}:
        return f"InvalidTopicError: {topic!r} is not a legal Kafka topic name (1-249 of [A-Za-z0-9._-])"
    return None
