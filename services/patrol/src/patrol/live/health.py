"""Whether the live view is current: the stream app runs, has recovered its tables, holds its input partitions and
hears from the broker — the heartbeat a dashboard needs to tell a quiet night from a dead stream.

An HTTP stream that still sends its keep-alive comments says only that patrol answers; when the broker is away (or
came back empty after a restart) the faust app keeps its tables and the view stops moving without any error. The
Kafka client stamps each input partition with the wall-clock time of its last good fetch answer (a long poll answers
every half second or so even when nothing is new), so the oldest stamp's age is how long the view may have missed
events. Read like ``progress.input_progress``: plain attribute reads of faust's and aiokafka's bookkeeping.

A broker that restarts quickly may be unheard for less than ``SILENT_AFTER_SECONDS``, yet the app's group is
rejoined (a new assignment) and the view rebuilt from the record (``record.RecordSeed``, a new loss). Right after
either the view is settling (changelog recovery, catch-up, the seed joined), so it is not called current until it has
been stable for ``SETTLE_SECONDS``: a dashboard says the restart happened instead of claiming freshness through it.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import asdict, dataclass
from typing import Any

from patrol.live.progress import input_progress
from patrol.live.stream import LiveCoverage

# A fetch answer older than this on an input partition: the broker is not being heard (a long poll answers within
# faust's fetch wait, half a second by default; the margin absorbs a loaded machine).
SILENT_AFTER_SECONDS = 5.0
SETTLE_SECONDS = 3.0
# per live view: its app, the app's assignment and the broker loss it joined when last looked at, and when that
# changed (monotonic). The objects themselves are kept, not their ids: a freed object's id can be reused.
_SETTLING: weakref.WeakKeyDictionary[LiveCoverage, tuple[Any, Any, int, float]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class LiveHealth:
    current: bool
    reason: str  # why not current, in Chinese then English; empty when current
    silent_seconds: float | None  # the oldest input partition's time since its last fetch answer

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def live_health(live: LiveCoverage, *, now: float | None = None) -> LiveHealth:
    app = live._app  # the app of this start (stream.py builds a new one after a crash or stall)
    if app is None or not live.running:
        return LiveHealth(False, "实时统计未运行，正在重建 (the stream app is not running; rebuilding)", None)
    inputs = {live.topics[name] for name in ("scans", "rounds", "routes", "signals")}
    progress = input_progress(app, inputs, {})
    if progress is None:
        return LiveHealth(False, "实时统计正在恢复 (the stream app is recovering its tables)", None)
    # each partition's (fetch stamp, last done): the stamp is the broker's answer
    stamps = [stamp for stamp, _done in progress[0].values() if isinstance(stamp, int | float)]
    if not stamps:
        return LiveHealth(False, "实时统计尚未分配到分区 (no input partition assigned yet)", None)
    silent = max(0.0, (now if now is not None else time.time()) - min(stamps) / 1000)
    if silent > SILENT_AFTER_SECONDS:
        return LiveHealth(False, f"消息中间件 {silent:.0f} 秒无应答 (the broker unheard for {silent:.0f} s)",
                          round(silent, 1))
    if _settling(live, app):
        return LiveHealth(False, "实时统计重新同步中 (settling after a rebalance or a broker loss)", round(silent, 1))
    return LiveHealth(True, "", round(silent, 1))


def _settling(live: LiveCoverage, app: Any) -> bool:
    """Whether the app, its assignment or the broker loss it joined changed within ``SETTLE_SECONDS``; the first
    look at a live view finds it settled (it may have run for hours before anyone asked)."""
    try:
        assignment = app.consumer._thread._consumer._fetcher._subscriptions.subscription.assignment
    except AttributeError:
        assignment = None
    loss, clock = live.record.loss, time.monotonic()
    seen = _SETTLING.get(live)
    if seen is None:
        _SETTLING[live] = (app, assignment, loss, clock - SETTLE_SECONDS)
        return False
    if seen[0] is not app or seen[1] is not assignment or seen[2] != loss:
        _SETTLING[live] = (app, assignment, loss, clock)
        return True
    return clock - seen[3] < SETTLE_SECONDS
