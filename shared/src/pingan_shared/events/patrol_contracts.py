"""patrol's events beyond the scan (which lives in ``contracts``): hazards reported from the field."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from pingan_shared.events.contracts import Contract, RefusalProblem


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


class RoutePublishedV1(Contract):
    """patrol → live coverage, dashboards (``patrol.route-published``; key = route id; topic patrol.routes).

    One event per route version: an edit makes a new version and publishes it whole, so a consumer keeps the
    highest ``version`` per route (rounds already started keep the version they started with)."""

    route_id: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200, description="Chinese name, e.g. 塘下镇夜巡一线")
    area: str | None = Field(default=None, max_length=200, description="township or area (镇街)")
    ordered: bool = Field(description="checkpoints must be walked in the listed order")
    checkpoint_ids: list[str] = Field(min_length=1, max_length=500, description="in route order")
    published_at: AwareDatetime


class RoundFactsV1(Contract):
    """What every round event carries: which round (轮次) of which plan, team and route version, and when."""

    round_id: str = Field(min_length=1, max_length=100)
    plan_id: str = Field(min_length=1, max_length=100)
    shift_id: str | None = Field(default=None, max_length=100, description="the roster shift the plan came from")
    team_id: str = Field(max_length=64)
    route_id: str = Field(max_length=100)
    route_version: int = Field(ge=1)
    area: str | None = Field(default=None, max_length=200, description="township or area (镇街)")
    window_starts_at: AwareDatetime = Field(description="the round's expected start")
    window_ends_at: AwareDatetime = Field(description="window close: unscanned checkpoints are missed then")
    start_due_at: AwareDatetime = Field(description="expected start + start grace: not started by then → alert")
    expected_checkpoints: int = Field(ge=1)


class RoundStartedV1(RoundFactsV1):
    """``patrol.round-started`` (key = round id): the round's first scan (by device time) was attached."""

    started_at: AwareDatetime = Field(description="device time of the first scan")
    late: bool = Field(description="started after start_due_at")


class RoundCompletedV1(RoundFactsV1):
    """``patrol.round-completed`` (key = round id): every checkpoint scanned within the window."""

    started_at: AwareDatetime
    completed_at: AwareDatetime = Field(description="device time of the scan that completed it")


class RoundIncompleteV1(RoundFactsV1):
    """``patrol.round-incomplete`` (key = round id): at window close, started but checkpoints unscanned."""

    started_at: AwareDatetime
    scanned_checkpoints: int = Field(ge=0)
    missed_checkpoint_ids: list[str]


class RoundExpiredV1(RoundFactsV1):
    """``patrol.round-expired`` (key = round id): at window close, not a single scan attached."""

    missed_checkpoint_ids: list[str]


class RoundNotStartedV1(RoundFactsV1):
    """``patrol.round-not-started`` (key = round id): no scan by ``start_due_at``; an alert signal
    (dedup ``patrol:round:<id>:not-started``) is published beside it and resolved by a late start."""


class CheckpointMissedV1(RoundFactsV1):
    """``patrol.checkpoint-missed`` (漏巡; key = round id): a checkpoint unscanned at window close; alert
    signal ``patrol:round:<id>:missed:<checkpoint>`` beside it, resolved when a late offline batch fills it."""

    checkpoint_id: str = Field(max_length=100)
    checkpoint_name: str = Field(default="", max_length=200)


class ScanFlaggedV1(Contract):
    """``patrol.scan-flagged`` (key = team id; topic patrol.flags): an accepted scan looks wrong. Flagged, never
    rejected: a supervisor decides. One event per scan and kind, ever; a LOW alert signal goes beside it.

    Kinds: ``outside-radius`` (scanned beyond the checkpoint's radius plus the GPS accuracy),
    ``impossible-speed`` (from the member's neighbouring scan, by corrected time), ``clock-skew`` (the device
    clock off by more than the tolerance), ``two-devices`` (the member's scan falls inside the span of their scans
    on another device), ``repeated-scan`` (the same checkpoint again seconds later, by the same member or the
    same device), ``weaker-method`` (e.g. a QR code read where the checkpoint expects NFC)."""

    team_id: str = Field(max_length=64)
    scan_id: str = Field(max_length=100)
    member_id: str = Field(max_length=64)
    checkpoint_id: str = Field(max_length=64)
    device_id: str | None = Field(default=None, description="the device that sent the flagged scan (token subject)")
    kind: str = Field(min_length=1, max_length=50)
    summary: str = Field(min_length=1, max_length=500, description="one line in Chinese")
    detail: dict[str, Any] = Field(default_factory=dict, description="the figures the rule compared")
    scanned_at: AwareDatetime = Field(description="the flagged scan's corrected time")
    flagged_at: AwareDatetime


class ShiftRefusedV1(Contract):
    """patrol → roster (``patrol.shift-refused``; key = shift id): a published patrol shift patrol cannot plan for a
    reason the organiser can fix (a route or team patrol does not know, a clash with another plan). roster shows it
    on the shift and alerts the organiser if it is not fixed before the shift starts. A shift patrol cannot read at
    all goes to patrol's dead letters instead."""

    shift_id: str = Field(min_length=1, max_length=100)
    period_id: str = Field(min_length=1, max_length=100)
    problems: list[RefusalProblem] = Field(min_length=1, max_length=10)
    at: AwareDatetime


class ShiftPlannedV1(Contract):
    """patrol → roster (``patrol.shift-planned``; key = shift id): patrol expects rounds for the shift (its plan);
    a refusal before it is answered."""

    shift_id: str = Field(min_length=1, max_length=100)
    period_id: str = Field(min_length=1, max_length=100)
    plan_id: str = Field(min_length=1, max_length=200)
    at: AwareDatetime
