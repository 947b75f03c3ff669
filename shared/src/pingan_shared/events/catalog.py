"""One catalog of event types → topic, current schema version and payload model, plus upcasters.

Services never spell topic names: they ask the catalog. Old schema versions found on a topic are
upcast step by step to the current version before a handler sees them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pingan_shared.events.contracts import DeadLetteredV1, ScanAcceptedV1
from pingan_shared.events.envelope import Envelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    topic: str | None  # None: the producer decides (dead letters go to deadletter.<service>)
    payload: type[BaseModel]
    description: str = ""


@dataclass(eq=False)
class Catalog:
    types: dict[str, EventType] = field(default_factory=dict)
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)

    def register(self, event_type: EventType) -> None:
        if event_type.name in self.types:
            raise ValueError(f"event type {event_type.name} registered twice")
        self.types[event_type.name] = event_type

    def register_upcaster(self, name: str, from_version: int, upcaster: Upcaster) -> None:
        """``upcaster`` turns a ``from_version`` payload into a ``from_version + 1`` payload."""
        self.upcasters[(name, from_version)] = upcaster

    def get(self, name: str) -> EventType:
        try:
            return self.types[name]
        except KeyError:
            raise UnknownEventType(f"unknown event type {name!r}") from None

    def topic_for(self, name: str) -> str:
        topic = self.get(name).topic
        if topic is None:
            raise UnknownEventType(f"{name} has no fixed topic")
        return topic

    def topics(self) -> list[str]:
        return sorted({t.topic for t in self.types.values() if t.topic is not None})

    def decode(self, envelope: Envelope) -> BaseModel:
        """The envelope's payload as the current version's model, upcasting older versions."""
        event_type = self.get(envelope.type)
        if envelope.schema_version > event_type.version:
            raise UnknownEventType(
                f"{envelope.type} v{envelope.schema_version} is newer than this service knows "
                f"(v{event_type.version})"
            )
        payload = dict(envelope.payload)
        for version in range(envelope.schema_version, event_type.version):
            upcaster = self.upcasters.get((envelope.type, version))
            if upcaster is None:
                raise UnknownEventType(f"no upcaster for {envelope.type} v{version} → v{version + 1}")
            payload = upcaster(payload)
        return event_type.payload.model_validate(payload)

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        """JSON Schema of every event: the envelope with its payload schema inlined."""
        schemas: dict[str, dict[str, Any]] = {}
        for event_type in sorted(self.types.values(), key=lambda t: t.name):
            envelope_schema = Envelope.model_json_schema()
            envelope_schema["title"] = f"{event_type.name} v{event_type.version}"
            envelope_schema["description"] = event_type.description
            envelope_schema["properties"]["type"] = {"const": event_type.name}
            envelope_schema["properties"]["schema_version"] = {"const": event_type.version}
            envelope_schema["properties"]["payload"] = event_type.payload.model_json_schema()
            envelope_schema["x-topic"] = event_type.topic or "chosen by the producer"
            schemas[f"{event_type.name}.v{event_type.version}"] = envelope_schema
        return schemas

    def export_json_schemas(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, schema in self.json_schemas().items():
            path = directory / f"{name}.schema.json"
            path.write_text(json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
            written.append(path)
        return written


SCAN_ACCEPTED = "patrol.scan-accepted"
DEAD_LETTERED = "platform.dead-lettered"

TOPIC_PATROL_SCANS = "patrol.scans"


def deadletter_topic(service: str) -> str:
    return f"deadletter.{service}"


def _build_catalog(types: Iterable[EventType]) -> Catalog:
    catalog = Catalog()
    for event_type in types:
        catalog.register(event_type)
    return catalog


CATALOG = _build_catalog(
    [
        EventType(
            SCAN_ACCEPTED, 1, TOPIC_PATROL_SCANS, ScanAcceptedV1,
            "A checkpoint scan accepted by patrol; key = team id so a team's scans stay in order.",
        ),
        EventType(
            DEAD_LETTERED, 1, None, DeadLetteredV1,
            "An event a consumer could not parse or handle; published to deadletter.<service>.",
        ),
    ]
)
