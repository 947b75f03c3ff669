"""A record the live app cannot fold, as a dead letter whose event id derives from the record's position and
content: reprocessing after a restart emits the same event again, and the dead-letter readers see one."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from aiokafka.structs import ConsumerRecord

from pingan_shared.events.catalog import DEAD_LETTERED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.dead_letters import dead_letter_key, dead_letter_payload

_DEAD_LETTER_NAMESPACE = uuid.UUID("0b7f5c1e-4f3a-5d1e-9a57-6c6976652d6c")


def poison_dead_letter(record: ConsumerRecord, envelope: Envelope | None, reason: str, *, app_id: str,
                       producer: str, at: datetime) -> Envelope:
    """The dead letter of ``record`` (``envelope``: what could be read of it, if anything)."""
    payload = dead_letter_payload(record, envelope, reason, app_id)
    digest = hashlib.sha256(record.value or b"").hexdigest()
    event_id = uuid.uuid5(_DEAD_LETTER_NAMESPACE, f"{record.topic}/{record.partition}/{record.offset}/{digest}")
    return Envelope(
        event_id=event_id, type=DEAD_LETTERED, schema_version=1, occurred_at=at, producer=producer,
        key=dead_letter_key(record), correlation_id=envelope.correlation_id if envelope else event_id,
        causation_id=envelope.event_id if envelope else None, payload=payload.model_dump(mode="json"),
    )
