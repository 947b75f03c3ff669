"""A hazard (隐患) seen on patrol, as a patrol device reports it: what may be reported and when two reports of one
client hazard id are the same report. No I/O."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from pingan_shared.text import StorableStr


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


class HazardIn(BaseModel):
    """A hazard report from a patrol device. ``team_id`` may be left out: the device's team is its token's."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, json_schema_extra={"anyOf": [
        {"required": ["latitude", "longitude"],
         "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}},
        {"properties": {"latitude": {"type": "null"}, "longitude": {"type": "null"}}},
    ]})

    client_hazard_id: StorableStr = Field(min_length=1, max_length=100, json_schema_extra={"pattern": r"\S"},
                                          description="the app's own id for this report, unique within its team: "
                                          "re-sending the same report is harmless")
    team_id: StorableStr | None = Field(default=None, min_length=1, max_length=64, json_schema_extra={"pattern": r"\S"},
                                        description="must be the device's own team if given")
    member_id: StorableStr = Field(min_length=1, max_length=64, json_schema_extra={"pattern": r"\S"})
    category: HazardCategory
    description: StorableStr = Field(min_length=1, max_length=2000, json_schema_extra={"pattern": r"\S"},
                                     description="what was seen, e.g. 楼道堆放杂物堵塞消防通道")
    place: StorableStr = Field(default="", max_length=200, description="e.g. 安阳街道万松路12号")
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=True)
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=True)
    photo_refs: list[StorableStr] = Field(default_factory=list, max_length=20, json_schema_extra={
        "items": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": r"\S"}},
        description="references to photos already uploaded (storage keys or URLs), not the photos")
    unit_id: StorableStr | None = Field(default=None, min_length=1, max_length=64, json_schema_extra={"pattern": r"\S"},
                                        description="the responsible township/department, if the patrol knows it")
    reported_at: AwareDatetime = Field(description="when the patrol saw it, by the device's clock")

    @model_validator(mode="after")
    def _checks(self) -> HazardIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        for ref in self.photo_refs:
            if not ref.strip() or len(ref) > 500:
                raise ValueError("each photo reference holds 1 to 500 characters, not only spaces")
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
