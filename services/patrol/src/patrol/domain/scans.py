"""Judging checkpoint scans posted by patrol team apps.

A scan is judged by its device time (when it was made), not its arrival time: offline phones sync
hours later. The device clock is measured, not trusted: an upload says when the phone sent it (``sent_at``, by
the phone's clock), and the server's receive time minus that is the phone's clock offset. An offset within the
tolerance is network latency and ordinary drift, and the device time stands; beyond it the phone's clock is
wrong (a reset to 1970, a manual change), every device time of the upload is corrected by the offset, and the
scan is flagged ``clock-skew`` later (``flags.py``). Without ``sent_at`` (an old app) the device time
stands as it is, trusted within the future skew.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from patrol.domain.checkpoints import Checkpoint
from pingan_shared.events.contracts import ScanMethod
from pingan_shared.text import StorableStr


class ScanIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    scan_id: StorableStr = Field(min_length=1, max_length=100, description="client-generated id, unique per team")
    member_id: StorableStr = Field(min_length=1, max_length=64)
    team_id: StorableStr = Field(min_length=1, max_length=64)
    checkpoint_id: StorableStr | None = Field(default=None, min_length=1, max_length=64)
    tag: StorableStr | None = Field(default=None, min_length=1, max_length=256, description="tag payload as read")
    device_time: AwareDatetime
    latitude: float | None = Field(default=None, ge=-90, le=90, strict=True)
    longitude: float | None = Field(default=None, ge=-180, le=180, strict=True)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000, strict=True)
    method: ScanMethod | None = Field(default=None, description="how the tag was read: nfc, qr or manual "
                                      "(an old app leaves it out)")

    @model_validator(mode="after")
    def _identifies_a_checkpoint(self) -> ScanIn:
        if self.checkpoint_id is None and self.tag is None:
            raise ValueError("give checkpoint_id or tag")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("经纬度须同时给出 (latitude and longitude go together)")
        return self


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


@dataclass(frozen=True)
class ScanPolicy:
    max_future_skew: timedelta
    max_offline_age: timedelta
    # An upload's clock offset up to this is latency and drift (device time stands); beyond, it corrects.
    clock_tolerance: timedelta = timedelta(seconds=120)


@dataclass(frozen=True)
class UploadFacts:
    """What the upload as a whole says about its scans: who sent it, when by the phone, when it arrived."""

    device_id: str
    received_at: datetime
    sent_at: datetime | None = None

    @property
    def clock_offset(self) -> timedelta | None:
        """received_at − sent_at: how far the phone's clock runs behind the server's (negative: ahead)."""
        return None if self.sent_at is None else self.received_at - self.sent_at

    def corrected(self, device_time: datetime, policy: ScanPolicy) -> datetime:
        """When a scan made at ``device_time`` (phone clock) happened by the server's clock."""
        offset = self.clock_offset
        if offset is None or abs(offset) <= policy.clock_tolerance:
            return device_time
        return device_time + offset


def speaks_for_its_team(scan: ScanIn, token_team: str) -> bool:
    """Whether the device may post, and so also learn about, this scan's team's scans."""
    return scan.team_id == token_team


def judge_scan(
    scan: ScanIn,
    *,
    token_team: str,
    checkpoint: Checkpoint | None,
    now: datetime,
    policy: ScanPolicy,
    corrected_time: datetime | None = None,
) -> list[FieldError]:
    """Why the scan cannot be accepted as new; an empty list means it can.

    These are the rules for a scan not stored yet: a retry of a stored one is answered from what is
    stored (``duplicate`` or ``conflict``), whatever its age or checkpoint has become since. Its age is
    judged by ``corrected_time`` (the device time judged with the upload's clock offset, ``UploadFacts``);
    without it, by the device time as sent.
    """
    moment = scan.device_time if corrected_time is None else corrected_time
    errors: list[FieldError] = []
    if not speaks_for_its_team(scan, token_team):
        errors.append(FieldError("team_id", f"本设备只能为巡逻队 {token_team} 上报 (this device posts for team "
                                            f"{token_team}, not {scan.team_id})"))
    if checkpoint is None:
        if scan.checkpoint_id is not None:
            errors.append(FieldError("checkpoint_id",
                                     f"没有检查点 {scan.checkpoint_id} (unknown checkpoint {scan.checkpoint_id})"))
        else:
            errors.append(FieldError("tag", "没有检查点使用该标签 (no checkpoint has this tag)"))
    elif scan.checkpoint_id is not None and scan.tag is not None and checkpoint.tag != scan.tag:
        errors.append(FieldError("tag", f"标签不属于检查点 {scan.checkpoint_id} (tag does not belong to checkpoint "
                                        f"{scan.checkpoint_id})"))
    if moment > now + policy.max_future_skew:
        errors.append(FieldError(
            "device_time", f"扫码时间超出允许的设备时钟偏差 ({moment.isoformat()} is in the future beyond the "
            f"allowed skew of {int(policy.max_future_skew.total_seconds())} s)",
        ))
    elif moment < now - policy.max_offline_age:
        errors.append(FieldError(
            "device_time", f"超出离线补传时限 (older than the "
            f"{int(policy.max_offline_age.total_seconds() // 3600)} h offline window)",
        ))
    return errors


def fingerprint(scan: ScanIn) -> str:
    """Stable digest of a scan's content: same id + same fingerprint = harmless retry.

    A fact added later is left out while it is absent, so a scan stored before it existed keeps its digest
    and its retry stays a duplicate. The upload's facts (sender, send time) are not the scan's content: a
    retry sent later, or by a teammate's phone, is the same scan."""
    content = scan.model_dump(mode="json", exclude={"method"} if scan.method is None else None)
    content["device_time"] = scan.device_time.timestamp()  # same instant written with another offset
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
