"""patrol's events beyond the scan (which lives in ``contracts``): hazards reported from the field."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from pingan_shared.events.contracts import Contract


class HazardReportedV1(Contract):
    """patrol → inspection (``patrol.hazard-reported``; key = hazard id): a hazard (隐患) seen on patrol.

    Inspection turns it into an ad-hoc rectification task due 24 hours after ``reported_at``, for
    ``unit_id`` when the patrol knows the responsible unit, else into triage (分流交办) for an inspector."""

    hazard_id: str = Field(min_length=1, max_length=100)
    team_id: str = Field(max_length=64)
    member_id: str = Field(max_length=64)
    category: str = Field(min_length=1, max_length=50, description="fire, gas, roads, construction, campus, "
                          "enterprise, public-order, other")
    description: str = Field(min_length=1, max_length=2000)
    place: str = Field(default="", max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    photo_refs: list[str] = Field(default_factory=list, max_length=20)
    unit_id: str | None = Field(default=None, max_length=64, description="responsible township/department")
    reported_at: AwareDatetime = Field(description="when the patrol saw it (device time)")
    received_at: AwareDatetime
