"""Telling a stalled stream app from a quiet one.

faust-streaming can come out of a recovery or a rebalance with an input partition that is no longer worked, in two
ways seen in the live restart test on a loaded CI machine: a partition assigned but never read again (its
consumer left paused, or its fetched records never taken), and an event taken from a partition (faust's read
offset moved to it) that its agent never finished (the commit never passed it; one run waited 60 s on a round's
start that way). faust-streaming's issue tracker has several such reports; its own monitor only logs them, after
``stream_processing_timeout`` (five minutes). Two signs, each watched by a ``StallWatch``:

* the Kafka client stamps each partition with the time of its last fetch answer: a partition being read is
  answered every half second or so (a long poll returns empty when nothing is new), so a stamp that has not
  moved, while nothing of the partition is done either, means nobody is reading it (with a backlog the client
  fetches no more until its buffer is taken, so the stamp stands still while the agents work: done moves);
* events on the partition (its end, as the broker last answered a fetch) past the last one an agent finished, or,
  since this app started, past the committed offset, mean events not yet done; a healthy agent finishes one in
  microseconds.

Either, unchanged for ``STALL_SECONDS`` once recovery is over, is a stall. The live view is a cache, so
``stream.LiveCoverage`` then throws the app away and builds a new one, which recovers from the changelog and
resumes from the committed offsets (the unfinished events included).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

STALL_SECONDS = 20.0


class StallWatch:
    """Remembers when what is observed of each partition last changed; no I/O."""

    def __init__(self, stall_seconds: float = STALL_SECONDS) -> None:
        self.stall_seconds = stall_seconds
        self._seen: dict[str, tuple[Hashable, float]] = {}  # partition → (observed, when it last changed)

    def reset(self) -> None:
        """Recovery (re)started or the assignment changed: nothing is overdue yet."""
        self._seen.clear()

    def stalled(self, observed: Mapping[str, Hashable], now: float) -> list[str]:
        """The partitions whose observation has not changed for ``stall_seconds``, given every partition that owes
        progress now (one left out is forgotten) and what is observed of it; ``now`` is monotonic."""
        self._seen = {tp: seen for tp, seen in self._seen.items() if tp in observed}
        overdue = []
        for tp, value in observed.items():
            previous = self._seen.get(tp)
            if previous is None or previous[0] != value:
                self._seen[tp] = (value, now)
            elif now - previous[1] >= self.stall_seconds:
                overdue.append(tp)
        return sorted(overdue)


class StreamStalled(RuntimeError):
    """The app stopped working an input partition: it is thrown away and built anew."""
