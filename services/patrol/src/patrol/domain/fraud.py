"""Anti-fraud rules for accepted scans: flag, never reject — a supervisor decides what a flag means.

Pure rules, no I/O. ``flags.flag_scans`` (in the ``patrol.scans`` consumer group) gives them a scan's facts and
the member's neighbouring scans it has judged before (``TimelineScan``, in corrected-time order: the device time
judged with the upload's clock offset), and stores what they return, once per scan and kind.

Rules on the scan alone:
- ``outside-radius``: scanned farther from the checkpoint than its radius plus the GPS accuracy;
- ``clock-skew``: the phone's clock off by more than the tolerance (its times were corrected at intake);
- ``weaker-method``: read by a weaker method than the checkpoint expects (nfc > qr > manual): a QR code can be
  photographed and scanned away from its place.

Rules against the member's neighbours (whatever order the scans arrive in, each new scan is compared with the
neighbours it lands between, and the flag always goes to the later scan of a pair, so an offline batch that
arrives late is judged as if it had come in time):
- ``impossible-speed``: from the previous scan to the next, faster than ``max_speed_kmh`` over the distance
  beyond both scans' spread (the checkpoint radius, or the GPS accuracy where the place is the scan's GPS);
- ``repeated-scan``: the same checkpoint again within ``repeat_window``;
- ``two-devices``: a scan that falls inside the member's span on another device (that device's scans before
  and after it, at most ``device_span`` apart): one member on two devices in an overlapping span. When a new
  scan widens its own device's span over another device's scan, that scan is flagged.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from patrol.domain.checkpoints import haversine_m
from pingan_shared.events.contracts import ScanMethod

OUTSIDE_RADIUS = "outside-radius"
IMPOSSIBLE_SPEED = "impossible-speed"
CLOCK_SKEW = "clock-skew"
TWO_DEVICES = "two-devices"
REPEATED_SCAN = "repeated-scan"
WEAKER_METHOD = "weaker-method"
KINDS = (OUTSIDE_RADIUS, IMPOSSIBLE_SPEED, CLOCK_SKEW, TWO_DEVICES, REPEATED_SCAN, WEAKER_METHOD)

# How much a method proves presence: an NFC tag must be touched, a QR code may be a photograph.
_STRENGTH = {ScanMethod.MANUAL: 1, ScanMethod.QR: 2, ScanMethod.NFC: 3}
_METHOD_NAMES = {ScanMethod.NFC: "NFC", ScanMethod.QR: "二维码", ScanMethod.MANUAL: "手工录入"}


@dataclass(frozen=True)
class FraudPolicy:
    clock_tolerance: timedelta = timedelta(seconds=120)
    max_speed_kmh: float = 100.0
    repeat_window: timedelta = timedelta(seconds=60)
    device_span: timedelta = timedelta(minutes=60)
    # neighbours farther apart than this are not compared for speed (a member's next night is not "next")
    neighbour_horizon: timedelta = timedelta(hours=12)

    @property
    def near(self) -> timedelta:
        """How far around a scan every neighbour must be known (beyond it, only the nearest one on each side)."""
        return max(self.device_span, self.repeat_window)


@dataclass(frozen=True)
class TimelineScan:
    """A scan as the relational rules see it: who, which device, where it proves presence, when (corrected)."""

    team_id: str
    scan_id: str
    member_id: str
    device_id: str | None
    checkpoint_id: str
    at: datetime
    latitude: float | None = None
    longitude: float | None = None
    spread_m: float = 0.0  # how far from (latitude, longitude) the member may really have been

    @property
    def order(self) -> tuple[datetime, str]:
        """Corrected time, then scan id: one total order, whatever order the scans arrived in."""
        return (self.at, self.scan_id)


@dataclass(frozen=True)
class ScanFacts:
    """What the single-scan rules read: the scan (as a timeline point) and its facts from the intake."""

    scan: TimelineScan
    within_radius: bool | None = None
    distance_m: float | None = None
    radius_m: float | None = None
    accuracy_m: float | None = None
    clock_offset_seconds: float | None = None
    method: ScanMethod | None = None
    expected_method: ScanMethod | None = None


@dataclass(frozen=True)
class Flag:
    scan: TimelineScan
    kind: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scan.team_id, self.scan.scan_id, self.kind)


def single_scan_flags(facts: ScanFacts, policy: FraudPolicy) -> list[Flag]:
    """outside-radius, clock-skew, weaker-method: what the scan's own facts show."""
    scan, flags = facts.scan, []
    if facts.within_radius is False and facts.distance_m is not None:
        flags.append(Flag(scan, OUTSIDE_RADIUS,
                          f"{scan.member_id}在检查点{scan.checkpoint_id}扫码时距检查点{facts.distance_m:.0f}米，"
                          f"超出范围（半径{facts.radius_m or 0:.0f}米，定位精度{facts.accuracy_m or 0:.0f}米）",
                          {"distance_m": round(facts.distance_m, 1), "radius_m": facts.radius_m,
                           "accuracy_m": facts.accuracy_m}))
    offset = facts.clock_offset_seconds
    if offset is not None and abs(offset) > policy.clock_tolerance.total_seconds():
        direction = "慢" if offset > 0 else "快"
        flags.append(Flag(scan, CLOCK_SKEW,
                          f"设备{scan.device_id or '（未知）'}的时钟{direction}了{_duration(abs(offset))}，"
                          "扫码时间已按服务器时间校正",
                          {"clock_offset_seconds": round(offset, 3),
                           "tolerance_seconds": policy.clock_tolerance.total_seconds()}))
    if facts.method is not None and facts.expected_method is not None \
            and _STRENGTH[facts.method] < _STRENGTH[facts.expected_method]:
        flags.append(Flag(scan, WEAKER_METHOD,
                          f"检查点{scan.checkpoint_id}应使用{_METHOD_NAMES[facts.expected_method]}打卡，"
                          f"{scan.member_id}使用了{_METHOD_NAMES[facts.method]}",
                          {"method": facts.method.value, "expected_method": facts.expected_method.value}))
    return flags


class MemberTimeline:
    """One member's scans in (corrected time, scan id) order: a new scan's neighbours found by bisection, so a
    batch of many scans of one member costs no more than its neighbourhoods."""

    def __init__(self, scans: Iterable[TimelineScan]) -> None:
        self._scans = sorted(scans, key=lambda s: s.order)
        self._orders = [s.order for s in self._scans]
        self.devices = {s.device_id for s in self._scans}

    def neighbours(self, new: TimelineScan) -> tuple[TimelineScan | None, TimelineScan | None]:
        """The scan just before ``new`` and the one just after (``new`` itself may be on the timeline)."""
        at = bisect_left(self._orders, new.order)
        after = at + 1 if at < len(self._scans) and self._scans[at].scan_id == new.scan_id else at
        return (self._scans[at - 1] if at > 0 else None, self._scans[after] if after < len(self._scans) else None)

    def within(self, new: TimelineScan, reach: timedelta) -> list[TimelineScan]:
        """Every other scan within ``reach`` of ``new``."""
        low = bisect_left(self._orders, (new.at - reach, ""))
        high = bisect_right(self._orders, (new.at + reach, "\U0010ffff"))
        return [s for s in self._scans[low:high] if s.scan_id != new.scan_id]


def neighbour_flags(new: TimelineScan, member_scans: MemberTimeline | Iterable[TimelineScan],
                    policy: FraudPolicy) -> list[Flag]:
    """impossible-speed, repeated-scan, two-devices: ``new`` against the member's other scans near it (any
    device; ``new`` itself may be among them). A flag may go to a neighbour: the later scan of a pair, or the
    scan that ``new`` widened its device's span over. Each rule looks only as far as it needs (bisection), so
    a batch costs in proportion to its scans, not to their neighbourhoods."""
    if not isinstance(member_scans, MemberTimeline):
        member = (new.team_id, new.member_id)
        member_scans = MemberTimeline(s for s in member_scans if (s.team_id, s.member_id) == member)
    previous, following = member_scans.neighbours(new)
    flags = [*_speed(new, previous, following, policy),
             *_repeats(new, member_scans.within(new, policy.repeat_window), policy)]
    if new.device_id is not None and len((member_scans.devices | {new.device_id}) - {None}) > 1:  # one: no overlap
        flags += _two_devices(new, member_scans.within(new, policy.device_span), policy)
    return flags


def _speed(new: TimelineScan, previous: TimelineScan | None, following: TimelineScan | None,
           policy: FraudPolicy) -> list[Flag]:
    pairs = []
    if previous is not None:
        pairs.append((previous, new))
    if following is not None:
        pairs.append((new, following))
    flags = []
    for first, second in pairs:
        elapsed = (second.at - first.at).total_seconds()
        if elapsed > policy.neighbour_horizon.total_seconds():
            continue
        gap = _gap_m(first, second)
        if gap is None or gap <= 0:
            continue
        speed = float("inf") if elapsed <= 0 else gap / elapsed * 3.6
        if speed <= policy.max_speed_kmh:
            continue
        shown = "瞬间" if elapsed <= 0 else f"{_duration(elapsed)}内"
        flags.append(Flag(second, IMPOSSIBLE_SPEED,
                          f"{second.member_id}从检查点{first.checkpoint_id}到{second.checkpoint_id}相距"
                          f"{gap / 1000:.1f}公里，{shown}到达，超过{policy.max_speed_kmh:.0f}公里/小时",
                          {"previous_scan_id": first.scan_id, "distance_m": round(gap, 1), "seconds": elapsed,
                           "speed_kmh": None if elapsed <= 0 else round(speed, 1),
                           "max_speed_kmh": policy.max_speed_kmh}))
    return flags


def _gap_m(first: TimelineScan, second: TimelineScan) -> float | None:
    """Distance between two scans' places beyond what their spread explains; None without both places."""
    if first.latitude is None or first.longitude is None or second.latitude is None or second.longitude is None:
        return None
    distance = haversine_m(first.latitude, first.longitude, second.latitude, second.longitude)
    return distance - first.spread_m - second.spread_m


def _repeats(new: TimelineScan, others: Sequence[TimelineScan], policy: FraudPolicy) -> list[Flag]:
    flags = []
    for other in others:
        if other.checkpoint_id != new.checkpoint_id:
            continue
        elapsed = abs((new.at - other.at).total_seconds())
        if elapsed > policy.repeat_window.total_seconds():
            continue
        first, later = sorted((new, other), key=lambda s: s.order)
        flags.append(Flag(later, REPEATED_SCAN,
                          f"{later.member_id}在{_duration(elapsed)}内重复扫描检查点{later.checkpoint_id}",
                          {"previous_scan_id": first.scan_id, "seconds": elapsed,
                           "window_seconds": policy.repeat_window.total_seconds()}))
    return flags


def _two_devices(new: TimelineScan, others: Sequence[TimelineScan], policy: FraudPolicy) -> list[Flag]:
    if new.device_id is None:
        return []
    span = policy.device_span
    flags = []
    # new falls inside another device's span: that device's nearest scans before and after it, close enough
    for device in sorted({s.device_id for s in others if s.device_id not in (None, new.device_id)}, key=str):
        theirs = [s for s in others if s.device_id == device]
        before = [s for s in theirs if s.at <= new.at]
        after = [s for s in theirs if s.at >= new.at and s not in before[-1:]]
        if before and after and after[0].at - before[-1].at <= span:
            flags.append(_two_devices_flag(new, device, before[-1], after[0]))
    # new widens its own device's span over another device's scan: that scan is flagged
    mine = [s for s in others if s.device_id == new.device_id and abs(s.at - new.at) <= span]
    for other in others:
        if other.device_id in (None, new.device_id):
            continue
        for own in mine:
            low, high = sorted((own, new), key=lambda s: s.order)
            if low.at <= other.at <= high.at:
                flags.append(_two_devices_flag(other, new.device_id, low, high))
                break
    return flags


def _two_devices_flag(scan: TimelineScan, device: str | None, first: TimelineScan, last: TimelineScan) -> Flag:
    return Flag(scan, TWO_DEVICES,
                f"{scan.member_id}同一时段在两台设备上扫码：{scan.device_id}与{device}",
                {"other_device_id": device, "other_span_from_scan_id": first.scan_id,
                 "other_span_to_scan_id": last.scan_id,
                 "other_span_seconds": (last.at - first.at).total_seconds()})


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f}秒"
    if seconds < 7200:
        return f"{seconds / 60:.0f}分钟"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}小时"
    return f"{seconds / 86400:.0f}天"
