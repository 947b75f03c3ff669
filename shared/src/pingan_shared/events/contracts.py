"""Payload models of every event type. Frozen: a published contract never changes in place —
a change is a new schema version with an upcaster from the old one (see ``catalog``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RefusalProblem(Contract):
    """One reason a service cannot act on another service's event, for the sender's user to fix (DESIGN.md: services
    tell each other when they refuse): patrol's answer to a roster shift, inspection's to a patrol hazard."""

    field: str = Field(max_length=50, description="the event's field at fault, e.g. route_id, team_id, unit_id")
    value: str | None = Field(default=None, max_length=200, description="what the event named there")
    reason: str = Field(max_length=500, description="Chinese first, e.g. 巡逻服务没有该路线 (unknown route R-NOPE)")


class ScanAcceptedV1(Contract):
    """patrol → everyone: a checkpoint scan was accepted (``patrol.scan-accepted`` v1, superseded by v2 and kept
    for its upcaster: events of v1 may still be on the topic)."""

    scan_id: str = Field(description="the device's client scan id; unique per team")
    team_id: str
    member_id: str
    checkpoint_id: str
    device_time: AwareDatetime = Field(description="when the device scanned (event time)")
    received_at: AwareDatetime = Field(description="when patrol accepted it (arrival time)")
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    distance_m: float | None = Field(default=None, description="distance from the checkpoint, if both known")
    within_radius: bool | None = None


class ScanMethod(StrEnum):
    """How the device read the checkpoint: NFC is preferred, a QR code can be photographed and scanned away
    from its place, a manual entry proves least."""

    NFC = "nfc"
    QR = "qr"
    MANUAL = "manual"


class ScanAcceptedV2(Contract):
    """patrol → everyone: a checkpoint scan was accepted (``patrol.scan-accepted`` v2; key = team id).

    v2 adds the scan's facts: how it was read (``method``), which device sent it (``device_id``), when the phone
    says it sent the batch (``sent_at``) and the phone's clock offset measured from that (``clock_offset_seconds``
    = ``received_at`` − ``sent_at``). ``corrected_time`` is ``device_time`` judged with that offset: when the
    scan happened by the server's clock — what rounds and flags judge by. Facts an old client did not send
    are null; a v1 event upcasts with them null and ``corrected_time`` = ``device_time``."""

    scan_id: str = Field(description="the device's client scan id; unique per team")
    team_id: str
    member_id: str
    checkpoint_id: str
    device_time: AwareDatetime = Field(description="when the device scanned, by the device's clock (event time)")
    corrected_time: AwareDatetime = Field(description=(
        "device_time + the clock offset when the offset is beyond the tolerance (a wrong device clock), else "
        "device_time: when the scan happened by the server's clock"))
    received_at: AwareDatetime = Field(description="when patrol accepted it (arrival time)")
    sent_at: AwareDatetime | None = Field(default=None, description="the upload's send time, by the device's clock")
    clock_offset_seconds: float | None = Field(default=None, description=(
        "received_at − sent_at: how far the device clock runs behind the server's (negative: ahead); null "
        "without sent_at"))
    method: ScanMethod | None = Field(default=None, description="nfc, qr or manual; null from an old client")
    device_id: str | None = Field(default=None, description="the uploading patrol device (its token's subject)")
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    distance_m: float | None = Field(default=None, description="distance from the checkpoint, if both known")
    within_radius: bool | None = None


def upcast_scan_accepted_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 → v2: an old event knows none of the new facts; its device time stands uncorrected. A payload that
    breaks v1 (no device_time) is passed on as it is, so that validation names the missing fields."""
    if "device_time" not in payload:
        return payload
    return {**payload, "corrected_time": payload["device_time"], "sent_at": None, "clock_offset_seconds": None,
            "method": None, "device_id": None}


class DeadLetteredV1(Contract):
    """Any consumer → operators: an event that could not be parsed or handled, with the reason."""

    consumer_group: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_key: str | None = Field(description="the original Kafka key, encoded as raw_value is (at most 2 KiB)")
    source_event_id: str | None
    source_event_type: str | None
    reason: str = Field(description="why; NUL and lone surrogates replaced by U+FFFD, cut to 8 KiB of JSON")
    raw_value: str = Field(description=(
        "the original value: UTF-8 text as it was, or 'base64:' + base64 when it is not UTF-8, contains NUL "
        "or would more than double once escaped in JSON; cut to 256 KiB of JSON with a marker "
        "'…[truncated from N bytes]'; empty for a tombstone"))
