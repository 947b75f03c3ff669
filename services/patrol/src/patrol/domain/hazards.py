"""A hazard (隐患) seen on patrol, as a patrol device reports it: what may be reported and when two reports of one
client hazard id are the same report. No I/O."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pingan_shared.inputs import Moment, free_text, non_blank


class HazardCategory(StrEnum):
    """The categories inspection files rectification tasks under."""

    FIRE = "fire"                  # 消防安全
    GAS = "gas"                    # 燃气安全
    ROADS = "roads"                # 道路交通
    CONSTRUCTION = "construction"  # 建筑工地
    CAMPUS = "campus"              # 校园安全
    ENTERPRISE = "enterprise"      # 企业安全生产
    PUBLIC_ORDER = "public-order"  # 社会治安
    OTHER = "other"                # 其他


# Text as the schema states it: no NUL, a non-space character (a place may be empty), at most so long. Not
# stripped: what the schema's lengths count is what is stored. (To a type checker each is a str.)
if TYPE_CHECKING:
    Text64 = str
    Text100 = str
    Text500 = str
    Text2000 = str
    Place = str
else:
    Text64 = non_blank(64)
    Text100 = non_blank(100)
    Text500 = non_blank(500)
    Text2000 = non_blank(2000)
    Place = free_text(200)


class HazardIn(BaseModel):
    """A hazard report from a patrol device. ``team_id`` may be left out: the device's team is its token's."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["latitude", "longitude"],
         "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}},
        {"properties": {"latitude": {"type": "null"}, "longitude": {"type": "null"}}},
    ]})

    client_hazard_id: Text100 = Field(description="the app's own id for this report, unique within its team: "
                                      "re-sending the same report is harmless")
    team_id: Text64 | None = Field(default=None, description="must be the device's own team if given")
    member_id: Text64
    category: HazardCategory
    description: Text2000 = Field(description="what was seen, e.g. 楼道堆放杂物堵塞消防通道")
    place: Place = Field(default="", description="e.g. 安阳街道万松路12号")
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=True)
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=True)
    photo_refs: list[Text500] = Field(default_factory=list, max_length=20, description=(
        "references to photos already uploaded (storage keys or URLs), not the photos"))
    unit_id: Text64 | None = Field(default=None, description="the responsible township/department, if known")
    reported_at: Moment = Field(description="when the patrol saw it, by the device's clock")

    @model_validator(mode="after")
    def _position_whole(self) -> HazardIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        return self


def hazard_fingerprint(report: HazardIn, team_id: str) -> str:
    """Same client hazard id + same fingerprint = the same report sent again."""
    content = report.model_dump(mode="json")
    content["team_id"] = team_id  # left out or given, the team is the device's
    content["reported_at"] = report.reported_at.timestamp()
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def judge_report_time(reported_at: datetime, *, now: datetime, max_future_skew: timedelta,
                      max_offline_age: timedelta) -> str | None:
    """Why ``reported_at`` cannot be believed (the same window as a scan's device time), or None."""
    if reported_at > now + max_future_skew:
        return (f"{reported_at.isoformat()} is in the future beyond the allowed skew of "
                f"{int(max_future_skew.total_seconds())} s")
    if reported_at < now - max_offline_age:
        return f"older than the {int(max_offline_age.total_seconds() // 3600)} h offline window"
    return None
