"""Builds (topic, envelope) pairs for a service from the catalog, with its clock and topic prefix."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from pingan_shared.clock import Clock
from pingan_shared.events.catalog import CATALOG, Catalog
from pingan_shared.events.envelope import Envelope, new_envelope


@dataclass(frozen=True)
class EventFactory:
    producer: str
    clock: Clock
    topic_prefix: str = ""
    catalog: Catalog = CATALOG

    def make(
        self,
        type_name: str,
        payload: BaseModel,
        *,
        key: str,
        causation: Envelope | None = None,
        correlation_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> tuple[str, Envelope]:
        """The event on its topic; ``occurred_at`` defaults to the clock's now (a batch made at one instant, e.g.
        an upload's scans, passes that instant once instead of asking the clock per event)."""
        event_type = self.catalog.get(type_name)
        if not isinstance(payload, event_type.payload):
            raise TypeError(f"{type_name} expects {event_type.payload.__name__}, got {type(payload).__name__}")
        envelope = new_envelope(
            type=type_name, schema_version=event_type.version, payload=payload, key=key,
            producer=self.producer, occurred_at=occurred_at or self.clock.now(), causation=causation,
            correlation_id=correlation_id,
        )
        return f"{self.topic_prefix}{self.catalog.topic_for(type_name, self.producer)}", envelope
