"""The envelope every event travels in.

The envelope carries identity and lineage (event id, correlation and causation ids), the contract
(type + schema version), the partition key and the key's sequence number; the payload is a frozen pydantic
model chosen by the catalog. Serialised as UTF-8 JSON so any Kafka tool can read it.

``sequence`` numbers a key's events 1, 2, 3 … in the order their transactions committed. The outbox assigns
it (``messaging.outbox.enqueue``); ``None`` means unsequenced: an event written before sequences existed,
or one made outside an outbox. Consumers use it to recognise a transition that arrived out of order
(``messaging.ordering``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError


class EnvelopeError(ValueError):
    """The bytes are not a valid event envelope."""


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    type: str = Field(min_length=1, max_length=200)
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1, max_length=100)
    key: str = Field(min_length=1, max_length=500)
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    sequence: int | None = Field(
        default=None, ge=1,
        description="the key's sequence number from the producing outbox: 1, 2, 3 … in commit order, with "
        "gaps allowed; a consumer ignores a transition older than the one it applied; null = unsequenced",
    )
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Envelope:
        if raw is None:
            raise EnvelopeError("empty message (tombstone) where an event was expected")
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise EnvelopeError(_describe(exc)) from exc

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers duplicating the contract so routers need not parse the body."""
        return [
            ("event_type", self.type.encode()),
            ("schema_version", str(self.schema_version).encode()),
            ("event_id", str(self.event_id).encode()),
        ]


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(p) for p in error["loc"]) or "(body)"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


def new_envelope(
    *,
    type: str,
    schema_version: int,
    payload: BaseModel,
    key: str,
    producer: str,
    occurred_at: datetime,
    correlation_id: uuid.UUID | None = None,
    causation: Envelope | None = None,
) -> Envelope:
    """Build an envelope; a caused event inherits its cause's correlation id."""
    event_id = uuid.uuid4()
    if causation is not None:
        correlation = causation.correlation_id
        causation_id: uuid.UUID | None = causation.event_id
    else:
        correlation = correlation_id or event_id
        causation_id = None
    return Envelope(
        event_id=event_id,
        type=type,
        schema_version=schema_version,
        occurred_at=occurred_at,
        producer=producer,
        key=key,
        correlation_id=correlation,
        causation_id=causation_id,
        payload=payload.model_dump(mode="json"),
    )
