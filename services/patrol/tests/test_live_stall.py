"""The stall rule (live/stall.py) on its own: a partition whose last-fetch stamp stops moving is stalled after
``stall_seconds``; one that keeps moving, or that recovery reset, is not."""

from __future__ import annotations

from patrol.live.stall import StallWatch


def test_a_stamp_that_keeps_moving_is_never_stalled() -> None:
    watch = StallWatch(stall_seconds=5)
    for second in range(60):
        assert watch.stalled({"scans/0": 1000.0 * second, "scans/1": float(second // 4)}, second) == []


def test_a_stamp_that_stops_is_stalled_after_the_limit_and_a_never_fetched_one_too() -> None:
    watch = StallWatch(stall_seconds=5)
    assert watch.stalled({"scans/0": 1.0, "scans/1": None}, 100.0) == []
    assert watch.stalled({"scans/0": 1.0, "scans/1": None}, 104.9) == []
    assert watch.stalled({"scans/0": 1.0, "scans/1": None}, 105.0) == ["scans/0", "scans/1"]


def test_a_reset_or_a_new_assignment_starts_the_count_again() -> None:
    watch = StallWatch(stall_seconds=5)
    watch.stalled({"scans/0": 1.0}, 0.0)
    watch.reset()  # recovery ran again
    assert watch.stalled({"scans/0": 1.0}, 4.0) == []
    assert watch.stalled({"scans/0": 1.0}, 8.9) == []
    assert watch.stalled({"scans/0": 1.0}, 9.0) == ["scans/0"]
    # the partition went to another member and came back: counted from when it is seen again
    assert watch.stalled({"scans/1": 3.0}, 10.0) == []
    assert watch.stalled({"scans/0": 1.0, "scans/1": 3.0}, 12.0) == []
    assert watch.stalled({"scans/0": 1.0, "scans/1": 3.0}, 16.0) == ["scans/1"]
    assert watch.stalled({"scans/0": 1.0, "scans/1": 3.0}, 17.0) == ["scans/0", "scans/1"]


def test_a_partition_worked_through_a_full_buffer_is_read_though_its_fetch_stamp_stands_still() -> None:
    # what progress.input_progress observes of a partition: (its fetch stamp, the last offset done); with a backlog
    # the client fetches no more until its buffer is taken, so only what is done moves
    watch = StallWatch(stall_seconds=20)
    for second in range(0, 120, 5):
        assert watch.stalled({"patrol.scans/0": (1000.0, 40 * second)}, now=float(second)) == []
    assert watch.stalled({"patrol.scans/0": (1000.0, 40 * 115)}, now=140.0) == ["patrol.scans/0"]
