"""What a dead letter carries, made safe whatever bytes the original record had.

A Kafka record's key and value are arbitrary bytes: too long for an envelope key, NUL (which PostgreSQL
text refuses), not UTF-8 at all, or control characters that JSON escaping makes six times larger. A dead
letter is an envelope stored in the outbox (its key as text) and published by a producer that refuses
requests over 1 MiB, so everything it carries is made storable and bounded here, by the size it has
once encoded in the envelope's JSON — never by the raw size alone.
"""

from __future__ import annotations

import base64
import re

import annotated_types
import pydantic_core
from aiokafka import ConsumerRecord

from pingan_shared.events.contracts import DeadLetteredV1
from pingan_shared.events.envelope import Envelope

# Budgets of encoded JSON bytes per field. Their sum, with the envelope around them, stays far below the
# producer's 1 MiB max_request_size: MAX_DEAD_LETTER_BYTES is what a dead letter can reach at most.
RAW_VALUE_BUDGET = 256 * 1024
SOURCE_KEY_BUDGET = 2 * 1024
REASON_BUDGET = 8 * 1024
EVENT_TYPE_BUDGET = 2 * 1024  # already at most 200 characters in an envelope; control characters escape to 6 bytes
MAX_DEAD_LETTER_BYTES = 512 * 1024

BASE64_PREFIX = "base64:"
# NUL and lone surrogates: valid in a Python str, refused by PostgreSQL text and by UTF-8 encoders.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _max_key_length() -> int:
    for constraint in Envelope.model_fields["key"].metadata:
        if isinstance(constraint, annotated_types.MaxLen):
            return int(constraint.max_length)
    raise RuntimeError("Envelope.key has no maximum length")


MAX_KEY_CHARS = _max_key_length()


def dead_letter_payload(record: ConsumerRecord, envelope: Envelope | None, reason: str,
                        consumer_group: str) -> DeadLetteredV1:
    return DeadLetteredV1(
        consumer_group=consumer_group,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        source_key=None if record.key is None else bytes_as_text(record.key, SOURCE_KEY_BUDGET),
        source_event_id=str(envelope.event_id) if envelope else None,
        source_event_type=bounded_text(envelope.type, EVENT_TYPE_BUDGET) if envelope else None,
        reason=bounded_text(reason, REASON_BUDGET),
        raw_value="" if record.value is None else bytes_as_text(record.value, RAW_VALUE_BUDGET),
    )


def dead_letter_key(record: ConsumerRecord) -> str:
    """The record's own key when an envelope can carry it as text, so one key's dead letters stay in one
    partition; otherwise its source partition, which keeps them in source order just as well."""
    text = _clean_text(record.key) if record.key else None
    if text is not None and 1 <= len(text) <= MAX_KEY_CHARS:
        return text
    return f"{record.topic}/{record.partition}"


def storable_text(text: str) -> str:
    """``text`` with what PostgreSQL text and UTF-8 cannot hold replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def bounded_text(text: str, budget: int) -> str:
    """Storable text whose JSON encoding takes at most ``budget`` bytes; cut with a marker if it was longer."""
    text = storable_text(text)
    if _encoded_size(text) <= budget:
        return text
    return _cut(text, budget, f"…[truncated from {len(text)} characters]")


def bytes_as_text(raw: bytes, budget: int) -> str:
    """Original bytes as text within ``budget`` encoded bytes: UTF-8 text as it is (readable for operators),
    or ``base64:`` + base64 when they are not storable text or when escaping would more than double them
    (control characters escape to six bytes each; base64 costs 4/3). Longer originals are cut, with a
    marker saying from how many bytes."""
    marker = f"…[truncated from {len(raw)} bytes]"
    text = _clean_text(raw)
    if text is not None and _encoded_size(text) <= 2 * len(raw):
        return text if _encoded_size(text) <= budget else _cut(text, budget, marker)
    if len(BASE64_PREFIX) + 4 * -(-len(raw) // 3) <= budget:
        return BASE64_PREFIX + base64.b64encode(raw).decode("ascii")
    room = budget - len(BASE64_PREFIX) - _encoded_size(marker)
    return BASE64_PREFIX + base64.b64encode(raw[: room // 4 * 3]).decode("ascii") + marker


def _clean_text(raw: bytes) -> str | None:
    """The bytes as text if they are UTF-8 that PostgreSQL can store, else None."""
    try:
        text = raw.decode("utf-8")  # strict: never yields lone surrogates
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _encoded_size(text: str) -> int:
    """Bytes ``text`` takes inside a JSON document as the envelope serialises it (without the quotes)."""
    return len(pydantic_core.to_json(text)) - 2


def _cut(text: str, budget: int, marker: str) -> str:
    """The longest prefix of ``text`` that fits ``budget`` encoded bytes together with ``marker``."""
    room = budget - _encoded_size(marker)
    low, high = 0, len(text)  # binary search on the prefix length: escaping makes the size per character vary
    while low < high:
        middle = (low + high + 1) // 2
        if _encoded_size(text[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low] + marker
