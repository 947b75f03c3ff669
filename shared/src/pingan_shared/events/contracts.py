"""Payload models of every event type. Frozen: a published contract never changes in place —
a change is a new schema version with an upcaster from the old one (see ``catalog``)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScanAcceptedV1(Contract):
    """patrol → everyone: a checkpoint scan was accepted (``patrol.scan-accepted``)."""

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
