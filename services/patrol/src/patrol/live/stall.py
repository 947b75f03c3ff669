"""Telling a stalled stream app from a quiet one.

faust-streaming can come out of a recovery or a rebalance with an input partition assigned but never read again
(its consumer left paused, or its fetched records never taken; faust-streaming's issue tracker has several such
reports, and a rare run of the live restart test found one scans partition never read after the restart). faust's
own monitor only logs it, after ``stream_processing_timeout`` (five minutes). The Kafka client stamps each partition
with the time of its last fetch answer: a partition being read is answered every half second or so (a long poll
returns empty when nothing is new), so a stamp that has not moved for ``STALL_SECONDS`` once recovery is over means
nobody is reading that partition. The live view is a cache, so ``stream.LiveCoverage`` then throws the app away
and builds a new one, which recovers from the changelog and reads on.
"""

from __future__ import annotations

from collections.abc import Mapping

STALL_SECONDS = 20.0


class StallWatch:
    """Remembers when each partition's last-fetch stamp last moved; no I/O."""

    def __init__(self, stall_seconds: float = STALL_SECONDS) -> None:
        self.stall_seconds = stall_seconds
        self._seen: dict[str, tuple[float | None, float]] = {}  # partition → (stamp, when it last changed)

    def reset(self) -> None:
        """Recovery (re)started or the assignment changed: nothing is overdue yet."""
        self._seen.clear()

    def stalled(self, stamps: Mapping[str, float | None], now: float) -> list[str]:
        """The partitions whose stamp has not moved for ``stall_seconds`` (``None``: never fetched), given every
        input partition held now and their stamps; ``now`` is monotonic."""
        self._seen = {tp: seen for tp, seen in self._seen.items() if tp in stamps}
        overdue = []
        for tp, stamp in stamps.items():
            previous = self._seen.get(tp)
            if previous is None or previous[0] != stamp:
                self._seen[tp] = (stamp, now)
            elif now - previous[1] >= self.stall_seconds:
                overdue.append(tp)
        return sorted(overdue)
