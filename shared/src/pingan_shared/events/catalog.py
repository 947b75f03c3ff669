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

from pingan_shared.events.alert_contracts import (
    AlertAcknowledgedV1,
    AlertEscalatedV1,
    AlertRaisedV1,
    AlertResolvedV1,
    AlertSignalV1,
    DeliveryFailedV1,
)
from pingan_shared.events.contracts import DeadLetteredV1, ScanAcceptedV2, upcast_scan_accepted_v1
from pingan_shared.events.directory_contracts import DirectoryEntryV1
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.inspection_contracts import (
    CycleOpenedV1,
    CyclePhaseChangedV1,
    DeadlineMovedV1,
    HazardRefusedV1,
    NoticeIssuedV1,
    TaskOpenedV1,
    TaskOverdueV1,
    TaskReminderV1,
    TaskVerifiedV1,
)
from pingan_shared.events.patrol_contracts import (
    CheckpointMissedV1,
    HazardReportedV1,
    RoundCompletedV1,
    RoundExpiredV1,
    RoundIncompleteV1,
    RoundNotStartedV1,
    RoundStartedV1,
    RoutePublishedV1,
    ScanFlaggedV1,
    ShiftPlannedV1,
    ShiftRefusedV1,
)
from pingan_shared.events.roster_contracts import NoShowV1, ShiftAssignedV1, ShiftCancelledV1, ShiftChangedV1

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    # None: the producer decides (dead letters go to deadletter.<service>). A topic holding ``{producer}`` is one
    # topic per producer, each named in ``producers``: the topic, not the envelope's self-declared ``producer``,
    # is then who sent it (a real cluster grants each service write access to its own topic only).
    topic: str | None
    payload: type[BaseModel]
    description: str = ""
    producers: tuple[str, ...] = ()

    @property
    def per_producer(self) -> bool:
        return self.topic is not None and PRODUCER_PLACEHOLDER in self.topic

    def topics(self) -> list[str]:
        """Every topic this type travels on (one per producer for a per-producer type)."""
        if self.topic is None:
            return []
        if not self.per_producer:
            return [self.topic]
        return [self.topic.replace(PRODUCER_PLACEHOLDER, producer) for producer in self.producers]


PRODUCER_PLACEHOLDER = "{producer}"


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

    def topic_for(self, name: str, producer: str | None = None) -> str:
        """The topic ``producer`` publishes ``name`` on (the producer matters only for a per-producer type)."""
        event_type = self.get(name)
        topic = event_type.topic
        if topic is None:
            raise UnknownEventType(f"{name} has no fixed topic")
        if event_type.per_producer:
            if producer not in event_type.producers:
                raise UnknownEventType(f"{producer!r} does not publish {name} (its producers: "
                                       f"{', '.join(event_type.producers)})")
            return topic.replace(PRODUCER_PLACEHOLDER, producer)
        return topic

    def topics_of(self, name: str) -> list[str]:
        """Every topic ``name`` travels on: what a consumer of it subscribes to."""
        return self.get(name).topics()

    def sender_on(self, name: str, topic: str) -> str | None:
        """For a per-producer type: the producer whose topic ``topic`` (without prefix) is, None if nobody's.
        For any other type: None (its topic says nothing about who sent it)."""
        event_type = self.get(name)
        if not event_type.per_producer:
            return None
        for producer in event_type.producers:
            if self.topic_for(name, producer) == topic:
                return producer
        return None

    def topics(self) -> list[str]:
        return sorted({topic for t in self.types.values() for topic in t.topics()})

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
            payload_schema = event_type.payload.model_json_schema()
            # pydantic's refs say #/$defs/<model>, from the schema's root: the payload's nested models go there
            if "$defs" in payload_schema:
                envelope_schema["$defs"] = payload_schema.pop("$defs")
            envelope_schema["properties"]["payload"] = payload_schema
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
HAZARD_REPORTED = "patrol.hazard-reported"
SCAN_FLAGGED = "patrol.scan-flagged"
ROUTE_PUBLISHED = "patrol.route-published"
ROUND_STARTED = "patrol.round-started"
ROUND_COMPLETED = "patrol.round-completed"
ROUND_INCOMPLETE = "patrol.round-incomplete"
ROUND_EXPIRED = "patrol.round-expired"
ROUND_NOT_STARTED = "patrol.round-not-started"
CHECKPOINT_MISSED = "patrol.checkpoint-missed"
SHIFT_REFUSED = "patrol.shift-refused"
SHIFT_PLANNED = "patrol.shift-planned"
DEAD_LETTERED = "platform.dead-lettered"
ALERT_SIGNAL = "alerts.signal"
ALERT_RAISED = "alerts.alert-raised"
ALERT_ESCALATED = "alerts.alert-escalated"
ALERT_ACKNOWLEDGED = "alerts.alert-acknowledged"
ALERT_RESOLVED = "alerts.alert-resolved"
DELIVERY_FAILED = "alerts.delivery-failed"
CYCLE_OPENED = "inspection.cycle-opened"
CYCLE_PHASE_CHANGED = "inspection.cycle-phase-changed"
NOTICE_ISSUED = "inspection.notice-issued"
TASK_OPENED = "inspection.task-opened"
TASK_REMINDER = "inspection.task-reminder"
TASK_OVERDUE = "inspection.task-overdue"
TASK_VERIFIED = "inspection.task-verified"
DEADLINE_MOVED = "inspection.deadline-moved"
HAZARD_REFUSED = "inspection.hazard-refused"
SHIFT_ASSIGNED = "roster.shift-assigned"
SHIFT_CHANGED = "roster.shift-changed"
SHIFT_CANCELLED = "roster.shift-cancelled"
NO_SHOW = "roster.no-show"
DIRECTORY_ENTRY = "directory.entry-defined"

TOPIC_PATROL_SCANS = "patrol.scans"
TOPIC_PATROL_HAZARDS = "patrol.hazards"
TOPIC_PATROL_FLAGS = "patrol.flags"
TOPIC_PATROL_ROUTES = "patrol.routes"
TOPIC_PATROL_ROUNDS = "patrol.rounds"
# patrol's answers to roster's shifts (planned, or refused for a reason the organiser can fix)
TOPIC_PATROL_SHIFT_ANSWERS = "patrol.shift-answers"
# One signal topic per source (``signal_topic``): the topic a signal arrives on is who sent it.
TOPIC_ALERT_SIGNALS = "{producer}.alert-signals"
SIGNAL_SOURCES = ("patrol", "roster", "inspection")
TOPIC_ALERTS = "alerts.alerts"
TOPIC_INSPECTION_CYCLES = "inspection.cycles"
TOPIC_INSPECTION_NOTICES = "inspection.notices"
TOPIC_INSPECTION_TASKS = "inspection.tasks"
# inspection's answers to patrol's hazards (refused for a reason the patrol's organiser can fix)
TOPIC_INSPECTION_HAZARD_ANSWERS = "inspection.hazard-answers"
TOPIC_ROSTER_SHIFTS = "roster.shifts"
TOPIC_ROSTER_ATTENDANCE = "roster.attendance"
TOPIC_DIRECTORY = "directory.entries"
# Topics that keep each key's last event rather than a time's worth (cleanup.policy=compact): a service that
# starts in a year still reads every directory entry, and only its latest state.
COMPACTED_TOPICS = frozenset({TOPIC_DIRECTORY})


def signal_topic(source: str) -> str:
    """The topic ``source`` (a platform service) publishes its alert signals on."""
    return TOPIC_ALERT_SIGNALS.replace(PRODUCER_PLACEHOLDER, source)


def compacted_topics(prefix: str = "") -> frozenset[str]:
    """``COMPACTED_TOPICS`` as named on a broker whose topics carry ``prefix``."""
    return frozenset(f"{prefix}{name}" for name in COMPACTED_TOPICS)


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
            SCAN_ACCEPTED, 2, TOPIC_PATROL_SCANS, ScanAcceptedV2,
            "A checkpoint scan accepted by patrol, with its facts (method, device, send time, clock offset); "
            "key = team id so a team's scans stay in order.",
        ),
        EventType(
            SCAN_FLAGGED, 1, TOPIC_PATROL_FLAGS, ScanFlaggedV1,
            "An accepted scan flagged by an anti-fraud rule (flagged, not rejected); once per scan and kind; "
            "key = team id.",
        ),
        EventType(
            DEAD_LETTERED, 1, None, DeadLetteredV1,
            "An event a consumer could not parse or handle; published to deadletter.<service>; key = the original "
            "record's key (<topic>/<partition> where it cannot be text).",
        ),
        EventType(
            HAZARD_REPORTED, 1, TOPIC_PATROL_HAZARDS, HazardReportedV1,
            "A hazard seen on patrol; key = hazard id. Inspection opens a 24-hour rectification task.",
        ),
        EventType(
            ROUTE_PUBLISHED, 1, TOPIC_PATROL_ROUTES, RoutePublishedV1,
            "A route version (ordered or not, its checkpoints in order); key = route id; keep the highest version.",
        ),
        EventType(
            ROUND_STARTED, 1, TOPIC_PATROL_ROUNDS, RoundStartedV1,
            "A round's first scan (device time) was attached; key = round id.",
        ),
        EventType(
            ROUND_COMPLETED, 1, TOPIC_PATROL_ROUNDS, RoundCompletedV1,
            "Every checkpoint of a round scanned within its window; key = round id.",
        ),
        EventType(
            ROUND_INCOMPLETE, 1, TOPIC_PATROL_ROUNDS, RoundIncompleteV1,
            "At window close a started round has unscanned checkpoints; key = round id.",
        ),
        EventType(
            ROUND_EXPIRED, 1, TOPIC_PATROL_ROUNDS, RoundExpiredV1,
            "At window close a round has no scan at all; key = round id.",
        ),
        EventType(
            ROUND_NOT_STARTED, 1, TOPIC_PATROL_ROUNDS, RoundNotStartedV1,
            "No scan by the round's start grace; an alert signal goes beside it; key = round id.",
        ),
        EventType(
            CHECKPOINT_MISSED, 1, TOPIC_PATROL_ROUNDS, CheckpointMissedV1,
            "A checkpoint unscanned at window close (漏巡); an alert signal goes beside it; key = round id.",
        ),
        EventType(
            SHIFT_REFUSED, 1, TOPIC_PATROL_SHIFT_ANSWERS, ShiftRefusedV1,
            "patrol cannot plan a roster shift for a reason the organiser can fix (an unknown route or team, a "
            "clash); roster shows it and alerts if unfixed by the shift's start; key = shift id.",
        ),
        EventType(
            SHIFT_PLANNED, 1, TOPIC_PATROL_SHIFT_ANSWERS, ShiftPlannedV1,
            "patrol planned a roster shift's rounds (an earlier refusal is answered); key = shift id.",
        ),
        EventType(
            ALERT_SIGNAL, 1, TOPIC_ALERT_SIGNALS, AlertSignalV1,
            "A source asks alerts to raise (trigger) or close (resolve) the alert of a dedup key in its own "
            "namespace (<source>:…); each source on its own topic, <source>.alert-signals; key = dedup key.",
            producers=SIGNAL_SOURCES,
        ),
        EventType(ALERT_RAISED, 1, TOPIC_ALERTS, AlertRaisedV1, "An alert opened; key = dedup key."),
        EventType(
            ALERT_ESCALATED, 1, TOPIC_ALERTS, AlertEscalatedV1,
            "An escalation step was taken (通报, 挂牌督办, 约谈, 问责 …); key = dedup key.",
        ),
        EventType(ALERT_ACKNOWLEDGED, 1, TOPIC_ALERTS, AlertAcknowledgedV1, "An alert acknowledged; key = dedup key."),
        EventType(ALERT_RESOLVED, 1, TOPIC_ALERTS, AlertResolvedV1, "An alert closed; key = dedup key."),
        EventType(
            DELIVERY_FAILED, 1, TOPIC_ALERTS, DeliveryFailedV1,
            "A notification about an alert failed every retry and was dead-lettered; key = dedup key.",
        ),
        EventType(
            CYCLE_OPENED, 1, TOPIC_INSPECTION_CYCLES, CycleOpenedV1, "A 211 cycle was scheduled; key = cycle id.",
        ),
        EventType(
            CYCLE_PHASE_CHANGED, 1, TOPIC_INSPECTION_CYCLES, CyclePhaseChangedV1,
            "A 211 cycle entered rectification (findings released) or closed; key = cycle id.",
        ),
        EventType(
            NOTICE_ISSUED, 1, TOPIC_INSPECTION_NOTICES, NoticeIssuedV1,
            "A numbered circulated notice (通报) to a unit, or tasks merged into it; key = notice id.",
        ),
        EventType(TASK_OPENED, 1, TOPIC_INSPECTION_TASKS, TaskOpenedV1, "A rectification task opened; key = task id."),
        EventType(
            TASK_REMINDER, 1, TOPIC_INSPECTION_TASKS, TaskReminderV1, "A deadline is near (催办); key = task id.",
        ),
        EventType(
            TASK_OVERDUE, 1, TOPIC_INSPECTION_TASKS, TaskOverdueV1,
            "A task not verified by its deadline; once per task; key = task id.",
        ),
        EventType(
            TASK_VERIFIED, 1, TOPIC_INSPECTION_TASKS, TaskVerifiedV1,
            "A revisit verified a task's rectification; key = task id.",
        ),
        EventType(
            DEADLINE_MOVED, 1, TOPIC_INSPECTION_TASKS, DeadlineMovedV1,
            "A deadline counted in working days moved when a year's holiday notice was loaded; key = task or "
            "cycle id.",
        ),
        EventType(
            HAZARD_REFUSED, 1, TOPIC_INSPECTION_HAZARD_ANSWERS, HazardRefusedV1,
            "A patrol hazard names a unit the directory does not hold; it is a triage task all the same, and patrol "
            "shows the problems on the hazard; key = hazard id.",
        ),
        EventType(
            SHIFT_ASSIGNED, 1, TOPIC_ROSTER_SHIFTS, ShiftAssignedV1,
            "A published shift (night patrols name their team and route); key = shift id.",
        ),
        EventType(
            SHIFT_CHANGED, 1, TOPIC_ROSTER_SHIFTS, ShiftChangedV1,
            "A shift's whole new state after a swap, override or re-plan; key = shift id.",
        ),
        EventType(
            SHIFT_CANCELLED, 1, TOPIC_ROSTER_SHIFTS, ShiftCancelledV1, "A shift no longer happens; key = shift id.",
        ),
        EventType(
            NO_SHOW, 1, TOPIC_ROSTER_ATTENDANCE, NoShowV1,
            "A rostered member with no presence by the shift's grace; key = shift id.",
        ),
        EventType(
            DIRECTORY_ENTRY, 1, TOPIC_DIRECTORY, DirectoryEntryV1,
            "A place or an organisation of the directory, its whole state; key = code (compacted: the last state "
            "of every code stays); every service keeps a local copy.",
        ),
    ]
)
# Older versions still on the topics, upcast step by step to the current one before a handler sees them.
CATALOG.register_upcaster(SCAN_ACCEPTED, 1, upcast_scan_accepted_v1)
