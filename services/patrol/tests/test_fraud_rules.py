"""The anti-fraud rules (domain.fraud), no I/O: each fires on its crafted case, none on a clean round, and the
relational ones reach the same flags whatever order the scans arrive in."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from patrol.domain.fraud import (
    CLOCK_SKEW,
    IMPOSSIBLE_SPEED,
    OUTSIDE_RADIUS,
    REPEATED_SCAN,
    TWO_DEVICES,
    WEAKER_METHOD,
    FraudPolicy,
    ScanFacts,
    TimelineScan,
    neighbour_flags,
    single_scan_flags,
)
from pingan_shared.events.contracts import ScanMethod

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 20:00 in Ruian
POLICY = FraudPolicy()
# Ruian (瑞安) checkpoints some 500-1,000 m apart, and one in Wenzhou city, 25 km north
PLACES = {"CP-A": (27.7800, 120.6500), "CP-B": (27.7850, 120.6550), "CP-C": (27.7900, 120.6450),
          "CP-FAR": (28.0000, 120.7000)}


def point(scan_id: str, checkpoint: str, minutes: float, device: str | None = "device-1",
          member: str = "张三") -> TimelineScan:
    lat, lon = PLACES[checkpoint]
    return TimelineScan(team_id="一队", scan_id=scan_id, member_id=member, device_id=device,
                        checkpoint_id=checkpoint, at=T0 + timedelta(minutes=minutes), latitude=lat, longitude=lon,
                        spread_m=50)


def arrive(scans: list[TimelineScan]) -> set[tuple[str, str]]:
    """Hand the scans to the rules one at a time in the order given, each against those before it."""
    seen: list[TimelineScan] = []
    flags: set[tuple[str, str]] = set()
    for scan in scans:
        seen.append(scan)
        flags |= {(f.scan.scan_id, f.kind) for f in neighbour_flags(scan, seen, POLICY)}
    return flags


def test_a_clean_round_raises_nothing() -> None:
    walk = [point("a", "CP-A", 0), point("b", "CP-B", 10), point("c", "CP-C", 20), point("a2", "CP-A", 40)]
    assert arrive(walk) == set()
    facts = ScanFacts(walk[0], within_radius=True, distance_m=12, radius_m=50, accuracy_m=8,
                      clock_offset_seconds=1.5, method=ScanMethod.NFC, expected_method=ScanMethod.NFC)
    assert single_scan_flags(facts, POLICY) == []


def test_single_scan_rules() -> None:
    scan = point("s", "CP-A", 0)
    far = ScanFacts(scan, within_radius=False, distance_m=1400, radius_m=50, accuracy_m=10)
    assert [f.kind for f in single_scan_flags(far, POLICY)] == [OUTSIDE_RADIUS]
    assert single_scan_flags(far, POLICY)[0].detail["distance_m"] == 1400
    fast_clock = ScanFacts(scan, clock_offset_seconds=-7200)
    [skew] = single_scan_flags(fast_clock, POLICY)
    assert skew.kind == CLOCK_SKEW and "快" in skew.summary
    assert single_scan_flags(ScanFacts(scan, clock_offset_seconds=119), POLICY) == []  # latency, drift
    qr = ScanFacts(scan, method=ScanMethod.QR, expected_method=ScanMethod.NFC)
    [weaker] = single_scan_flags(qr, POLICY)
    assert weaker.kind == WEAKER_METHOD and "二维码" in weaker.summary
    assert single_scan_flags(ScanFacts(scan, method=ScanMethod.NFC, expected_method=ScanMethod.QR), POLICY) == []
    assert single_scan_flags(ScanFacts(scan, method=None, expected_method=ScanMethod.NFC), POLICY) == []


def test_impossible_speed_flags_the_later_scan() -> None:
    assert arrive([point("a", "CP-A", 0), point("far", "CP-FAR", 5)]) == {("far", IMPOSSIBLE_SPEED)}
    # 25 km in 30 minutes is 50 km/h: a car may do that
    assert arrive([point("a", "CP-A", 0), point("far", "CP-FAR", 30)]) == set()
    # the same instant at two places
    assert arrive([point("a", "CP-A", 0), point("b", "CP-B", 0)]) == {("b", IMPOSSIBLE_SPEED)}


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_impossible_speed_whatever_the_arrival_order(order: tuple[int, ...]) -> None:
    # at CP-A at 20:00 and 20:20, in Wenzhou at 20:10: both legs around Wenzhou are impossible
    walk = [point("a", "CP-A", 0), point("far", "CP-FAR", 10), point("a2", "CP-A", 20)]
    assert arrive([walk[i] for i in order]) == {("far", IMPOSSIBLE_SPEED), ("a2", IMPOSSIBLE_SPEED)}


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_one_member_on_two_devices_whatever_the_arrival_order(order: tuple[int, ...]) -> None:
    walk = [point("a", "CP-A", 0, "device-1"), point("b", "CP-B", 10, "device-2"), point("c", "CP-C", 20, "device-1")]
    assert arrive([walk[i] for i in order]) == {("b", TWO_DEVICES)}


def test_a_handover_between_devices_is_not_an_overlap() -> None:
    walk = [point("a", "CP-A", 0, "device-1"), point("b", "CP-B", 10, "device-1"),
            point("c", "CP-C", 20, "device-2"), point("d", "CP-A", 30, "device-2")]
    assert arrive(walk) == set()
    # spans farther apart than device_span are not one span
    assert arrive([point("a", "CP-A", 0, "device-1"), point("b", "CP-B", 70, "device-2"),
                   point("c", "CP-A", 140, "device-1")]) == set()


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_repeated_scan_seconds_apart(order: tuple[int, ...]) -> None:
    walk = [point("a", "CP-A", 0), point("again", "CP-A", 0.25)]
    assert arrive([walk[i] for i in order]) == {("again", REPEATED_SCAN)}
    assert arrive([point("a", "CP-A", 0), point("next-round", "CP-A", 30)]) == set()
    # two members scanning together is a pair on patrol, not a repeat
    assert arrive([point("a", "CP-A", 0), point("b", "CP-A", 0.1, member="李四")]) == set()
