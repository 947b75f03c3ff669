"""roster's published shifts and attendance (DESIGN.md §3, flows 1 and 2).

A published roster emits one ``roster.shift-assigned`` per shift (key = shift id). Later swaps, overrides and
re-plans emit ``roster.shift-changed`` carrying the shift's whole new state (not a diff), so a consumer that
missed or reordered earlier events still ends at the right state by keeping the highest envelope sequence.
A night patrol shift names its team and route, so patrol can plan the rounds it expects.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from pingan_shared.events.contracts import Contract


class DutyKind(StrEnum):
    TRAINING = "training"  # 白天学习训练
    ROAD_PATROL = "road-patrol"  # 巡逻
    CHECKPOINT = "checkpoint"  # 设卡盘查
    FIRE_CHECK = "fire-check"  # 消防检查
    MIGRANT_REGISTRATION = "migrant-registration"  # 流口登记
    FOOT_PATROL = "foot-patrol"  # village foot patrol of key streets


class ShiftStateV1(Contract):
    """A shift as published: who is on it, where and when."""

    shift_id: str = Field(min_length=1, max_length=100)
    period_id: str = Field(min_length=1, max_length=100, description="the rotation period (期)")
    duty: DutyKind
    title: str = Field(max_length=200, description="Chinese name of the duty, e.g. 塘下镇夜间巡逻")
    area: str | None = Field(default=None, max_length=200, description="township or area")
    route_id: str | None = Field(default=None, max_length=100, description="patrol route, for patrol duties")
    team_id: str | None = Field(default=None, max_length=64, description="the patrol team that walks the route")
    member_ids: list[str] = Field(default_factory=list, max_length=500)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str = Field(default="Asia/Shanghai", max_length=64)


class ShiftAssignedV1(ShiftStateV1):
    """roster → patrol, dashboards (``roster.shift-assigned``; key = shift id): a published shift."""

    roster_version: int = Field(ge=1, description="the published roster version this shift belongs to")


class ShiftChangedV1(ShiftStateV1):
    """roster → patrol, dashboards (``roster.shift-changed``; key = shift id): the shift's new whole state
    after a swap, an override or a re-plan."""

    roster_version: int = Field(ge=1)
    reason: str = Field(default="", max_length=500, description="swap / override / re-plan, in Chinese")


class ShiftCancelledV1(Contract):
    """roster → patrol, dashboards (``roster.shift-cancelled``; key = shift id): the shift no longer happens."""

    shift_id: str = Field(min_length=1, max_length=100)
    period_id: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=500)
    cancelled_at: AwareDatetime


class NoShowV1(Contract):
    """roster → dashboards (``roster.no-show``; key = shift id): a rostered member with no presence on the
    shift by its grace. An alert signal is published beside it."""

    shift_id: str = Field(min_length=1, max_length=100)
    period_id: str = Field(min_length=1, max_length=100)
    member_id: str = Field(min_length=1, max_length=64)
    team_id: str | None = Field(default=None, max_length=64)
    starts_at: AwareDatetime
    grace_until: AwareDatetime
