"""What faust's and its Kafka client's own bookkeeping says of each input partition, for the stall watch
(``stall.py``).

Read from the client faust runs on its own thread: plain attribute reads of numbers, no call into that thread's
loop. The attributes are private to faust-streaming and aiokafka; the live tests pause partitions and hang an agent,
so a release that moves them fails those tests rather than silently blinding the watch.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from typing import Any

import faust


def input_progress(app: faust.App, inputs: Collection[str], finished: Mapping[tuple[str, int], int],
                   ) -> tuple[dict[str, tuple[Any, int]], dict[str, Hashable]] | None:
    """Of each held partition of the ``inputs`` topics, the Kafka client's stamp of its last fetch answer with what is
    done of it (either moving is reading); of each with events past those done (``finished``: the last offset an
    agent of this app finished, by partition), what is done. None while the app recovers or is not yet assigned."""
    if app.in_recovery or not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
        return None
    try:
        consumer = app.consumer._thread._consumer  # type: ignore[attr-defined]
        assignment = consumer._fetcher._subscriptions.subscription.assignment
    except AttributeError:  # not started, or between generations
        return None
    if consumer is None or assignment is None:
        return None
    committed = {(tp.topic, tp.partition): offset
                 for tp, offset in dict(app.consumer._committed_offset).items()}  # type: ignore[attr-defined]
    stamps: dict[str, tuple[Any, int]] = {}
    owing: dict[str, Hashable] = {}
    for tp in list(assignment.tps):
        if tp.topic not in inputs:
            continue
        state = assignment.state_value(tp)
        name = f"{tp.topic}/{tp.partition}"
        # done: what an agent of this app finished, or what was committed before it started (faust commits an
        # event only once the next one is taken, so the last one of a quiet partition stays uncommitted)
        key = (tp.topic, tp.partition)
        next_committed = committed.get(key) or 0
        done = max(finished.get(key, -1), next_committed - 1)
        # read: the fetch stamp, or what is done. Under a backlog the client holds a full buffer of the partition's
        # records and fetches no more until the agents have taken them, so its stamp stands still for as long as
        # they work through it: that is being read, not a stall (at 10x the city's load the stamp alone had the
        # app thrown away every 20 s, each new one starting over, and the view never caught up)
        stamps[name] = (state.timestamp, done)
        if state.highwater is not None and state.highwater > done + 1:
            owing[name] = (done, next_committed)
    return stamps, owing
