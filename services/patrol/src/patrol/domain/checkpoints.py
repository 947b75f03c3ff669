from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from pingan_shared.events.contracts import ScanMethod
from pingan_shared.inputs import NOT_BLANK
from pingan_shared.text import StorableStr

_EARTH_RADIUS_M = 6_371_008.8


def _at_most(limit: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise ValueError(f"at most {limit} characters")
        return value
    return check


class CheckpointIn(BaseModel):
    """A checkpoint as an organiser registers it: an NFC/QR tag placed at a key place (重点地段)."""

    # The JSON Schema (and so the OpenAPI) states what the validator below enforces: coordinates go together.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra={"anyOf": [
        {"required": ["latitude", "longitude"],
         "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}},
        {"properties": {"latitude": {"type": "null"}, "longitude": {"type": "null"}}},
    ]})

    id: StorableStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    # Text is stripped before its length is checked: the schema says it must hold a non-space character. Its
    # length as sent is checked first (the schema's maxLength counts what was sent, spaces too).
    tag: Annotated[StorableStr, BeforeValidator(_at_most(256))] = Field(
        min_length=1, max_length=256, description="the payload the device reads from the tag",
        json_schema_extra={"pattern": NOT_BLANK})
    name: Annotated[StorableStr, BeforeValidator(_at_most(200))] = Field(
        min_length=1, max_length=200, description="e.g. 安阳街道万松路口",
        json_schema_extra={"pattern": NOT_BLANK})
    # strict: a JSON true/false is not a coordinate (lax mode would read it as 1.0/0.0)
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=True)
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=True)
    radius_m: float = Field(default=50, gt=0, le=10_000, strict=True)
    # A QR code can be photographed and scanned anywhere: where an NFC tag is fitted, a QR read is flagged.
    expected_method: ScanMethod | None = Field(default=None, description="how a scan here should read the tag "
                                               "(nfc, qr, manual); a weaker method is flagged, not refused")

    @model_validator(mode="after")
    def _both_coordinates_or_none(self) -> CheckpointIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        return self


class CheckpointRow(CheckpointIn):
    """A checkpoint as imported: a registration plus its township or area (镇街)."""

    area: StorableStr | None = Field(default=None, max_length=200, description="township or area (镇街): a directory "
                                     "place's code or unique name; the code is stored")


@dataclass(frozen=True)
class Checkpoint:
    id: str
    tag: str
    name: str
    latitude: float | None
    longitude: float | None
    radius_m: float
    expected_method: str | None = None
    area: str | None = None  # a directory place's code (a name only in records from before the directory)
    area_name: str | None = None  # the place's name in the directory, for answers

    def distance_m(self, latitude: float | None, longitude: float | None) -> float | None:
        if None in (self.latitude, self.longitude, latitude, longitude):
            return None
        return haversine_m(self.latitude, self.longitude, latitude, longitude)  # type: ignore[arg-type]

    def registers(self, checkpoint: CheckpointIn, area: str | None = None) -> bool:
        """This stored checkpoint is what ``checkpoint`` (in ``area``) registers: the same again changes nothing."""
        method = None if checkpoint.expected_method is None else checkpoint.expected_method.value
        return (self.id, self.tag, self.name, self.latitude, self.longitude, self.radius_m, self.expected_method,
                self.area) == (checkpoint.id, checkpoint.tag, checkpoint.name, checkpoint.latitude,
                               checkpoint.longitude, checkpoint.radius_m, method, area)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(math.sqrt(a))
