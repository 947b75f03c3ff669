"""The alert-signal contract (DESIGN.md §3) and the alerts service's lifecycle events.

Sources decide what is alert-worthy and publish an ``AlertSignalV1`` through their own outbox, beside their
domain events: ``trigger`` opens (or keeps open) the one alert of its dedup key, ``resolve`` closes it. The
alerts service stays generic. Its lifecycle events (raised, escalated, acknowledged, resolved) are keyed by the
dedup key, so a source can follow its own alerts and record accountability (inspection does).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

from pingan_shared.events.contracts import Contract


class SignalAction(StrEnum):
    TRIGGER = "trigger"
    RESOLVE = "resolve"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class SourceLink(Contract):
    """Where the alert came from, so a supervisor can open the source entity."""

    service: str = Field(min_length=1, max_length=50, description="producing service, e.g. inspection")
    entity_type: str = Field(min_length=1, max_length=50, description="e.g. task, round, shift")
    entity_id: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=2000, description="a link a person can follow, if any")


class AlertSignalV1(Contract):
    """any source → alerts (``alerts.signal``; key = dedup key): raise or close the alert of a dedup key."""

    action: SignalAction
    dedup_key: str = Field(min_length=1, max_length=300, description="e.g. inspection:task:<id>:overdue")
    kind: str = Field(min_length=1, max_length=100, description="what happened, e.g. inspection.task-overdue; "
                      "selects the escalation policy")
    severity: Severity = Severity.MEDIUM
    unit_id: str | None = Field(default=None, max_length=64, description=(
        "the responsible unit's organisation code in the directory, if any"))
    area: str | None = Field(default=None, max_length=200, description=(
        "where exactly, in words (a route, an address), if any; before places had codes: the township"))
    place: str | None = Field(default=None, max_length=64, description=(
        "the directory code of the place it is about (镇街, 村社 or 网格); a supervisor whose scope is this place or "
        "one above it sees the alert"))
    place_name: str | None = Field(default=None, max_length=200, description="the place's name, for display")
    unit_name: str | None = Field(default=None, max_length=200, description="the unit's name, for display")
    summary: str = Field(min_length=1, max_length=500, description="one line in Chinese for the supervisor")
    people: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=200, description=(
            "the subjects (token subjects, e.g. a roster member's id) this alert is addressed to, each reached as "
            "the contact person:<subject> wherever the alert's ladder names {people}. A later trigger of the open "
            "alert naming people it does not address yet adds them: they hear the step the alert stands at, nobody "
            "hears it twice; people a later trigger leaves out stay addressed"))
    source: SourceLink
    occurred_at: AwareDatetime
    sequence: int | None = Field(default=None, ge=1, description=(
        "the source's per-key sequence (1, 2, 3 …, like the envelope's); signals published through an outbox "
        "carry it in the envelope instead"))


class AlertLifecycle(Contract):
    """What every alerts lifecycle event says about its alert."""

    alert_id: str
    dedup_key: str
    kind: str
    unit_id: str | None = None
    place: str | None = Field(default=None, description="the directory code of the alert's place, if known")
    source: SourceLink
    at: AwareDatetime


class AlertRaisedV1(AlertLifecycle):
    """alerts → everyone (``alerts.alert-raised``): an alert opened for a trigger signal."""

    severity: Severity
    summary: str
    policy: str = Field(description="the escalation policy frozen onto the alert")


class AlertEscalatedV1(AlertLifecycle):
    """alerts → everyone (``alerts.alert-escalated``): a step of the ladder was taken."""

    step: int = Field(ge=0, description="0-based index of the step in the frozen policy")
    label: str = Field(description="the step's name, e.g. 通报, 挂牌督办, 约谈, 问责")
    loop: int = Field(default=0, ge=0, description="how many times the ladder has repeated")
    targets: list[str] = Field(default_factory=list)


class AlertAcknowledgedV1(AlertLifecycle):
    """alerts → everyone (``alerts.alert-acknowledged``)."""

    by: str


class AlertResolvedV1(AlertLifecycle):
    """alerts → everyone (``alerts.alert-resolved``): closed by the source's resolve signal or by a person."""

    by: str | None = None
    reason: str = ""


class DeliveryFailedV1(Contract):
    """alerts → everyone (``alerts.delivery-failed``; key = dedup key): a notification about this alert could
    not be delivered to one recipient on one channel after every retry; it went to the dead letters."""

    alert_id: str
    dedup_key: str
    kind: str
    unit_id: str | None = None
    event: str = Field(description="what the notification was about: raised, escalated, reminder, resolved")
    step: int = Field(ge=0, description="0-based index of the step that asked for it")
    label: str = Field(description="the step's name, e.g. 挂牌督办")
    loop: int = Field(ge=0)
    target: str = Field(description="the step's target, e.g. role:city-office")
    recipient: str = Field(description="the contact it was for, e.g. person:张三")
    channel: str = Field(description="webhook, email, inbox or stream")
    attempts: int = Field(ge=1)
    reason: str = Field(description="the last attempt's error")
    idempotency_key: str = Field(description="the message's idempotency key (the same on every attempt)")
    at: AwareDatetime
