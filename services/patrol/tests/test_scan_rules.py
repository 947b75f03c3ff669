"""patrol's domain rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from patrol.domain.checkpoints import Checkpoint, CheckpointIn, haversine_m
from patrol.domain.scans import ScanIn, ScanPolicy, fingerprint, judge_scan

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
POLICY = ScanPolicy(max_future_skew=timedelta(minutes=5), max_offline_age=timedelta(hours=72))
GATE = Checkpoint("CP-1", "tag-万松路口", "万松路口", 27.78, 120.65, 50)


def scan(**overrides: object) -> ScanIn:
    fields: dict[str, object] = dict(scan_id="s-1", member_id="张三", team_id="一队", checkpoint_id="CP-1",
                                     device_time=NOW - timedelta(hours=1))
    fields.update(overrides)
    return ScanIn.model_validate(fields)


def judge(item: ScanIn, checkpoint: Checkpoint | None = GATE, team: str = "一队") -> dict[str, str]:
    return {e.field: e.reason for e in judge_scan(item, token_team=team, checkpoint=checkpoint, now=NOW,
                                                  policy=POLICY)}


def test_a_good_scan_passes() -> None:
    assert judge(scan()) == {}


def test_offline_scan_judged_by_device_time_within_the_window() -> None:
    assert judge(scan(device_time=NOW - timedelta(hours=71))) == {}
    assert "device_time" in judge(scan(device_time=NOW - timedelta(hours=73)))


def test_device_clock_may_run_slightly_fast_but_not_beyond_the_skew() -> None:
    assert judge(scan(device_time=NOW + timedelta(minutes=4))) == {}
    assert "future" in judge(scan(device_time=NOW + timedelta(minutes=6)))["device_time"]


def test_wrong_team_unknown_checkpoint_and_foreign_tag() -> None:
    assert "team_id" in judge(scan(), team="二队")
    assert "checkpoint_id" in judge(scan(checkpoint_id="CP-404"), checkpoint=None)
    assert "tag" in judge(scan(checkpoint_id=None, tag="nope"), checkpoint=None)
    assert "tag" in judge(scan(tag="tag-另一个"))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"device_time": "2026-11-22T14:00:00"}, "device_time"),  # no offset: ambiguous
        ({"device_time": "yesterday"}, "device_time"),
        ({"checkpoint_id": None}, ""),
        ({"latitude": 91, "longitude": 0}, "latitude"),
        ({"latitude": 30.0}, ""),
        ({"latitude": True, "longitude": 120.6}, "latitude"),  # lax mode read a boolean as 1.0
        ({"accuracy_m": "8"}, "accuracy_m"),
        ({"scan_id": ""}, "scan_id"),
        ({"scan_id": "x" * 101}, "scan_id"),
        ({"member_id": 42}, "member_id"),
        ({"extra": "field"}, "extra"),
    ],
)
def test_malformed_items_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        scan(**overrides)
    locations = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert field in locations


def test_fingerprint_ignores_how_the_instant_is_written() -> None:
    beijing = timezone(timedelta(hours=8))
    same_instant = scan(device_time=(NOW - timedelta(hours=1)).astimezone(beijing))
    assert fingerprint(scan()) == fingerprint(same_instant)
    assert fingerprint(scan()) != fingerprint(scan(member_id="李四"))


def test_distance_and_checkpoint_validation() -> None:
    assert haversine_m(27.78, 120.65, 27.78, 120.65) == 0
    assert 100 < haversine_m(27.78, 120.65, 27.781, 120.651) < 150
    assert GATE.distance_m(None, None) is None
    with pytest.raises(ValidationError):
        CheckpointIn(id="CP 1", tag="t", name="n")  # spaces not allowed in ids
    with pytest.raises(ValidationError):
        CheckpointIn(id="CP-1", tag="t", name="n", latitude=27.0)
