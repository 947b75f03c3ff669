"""Joining the group again when this member reads nothing although its topics exist.

A member that joins the group on a restarted embedded broker (tansu, memory only) before its topics exist again is
given no partition. aiokafka then never asks for those topics' metadata again on its own (its periodic refresh is
minutes apart), so it does not see them come back; and when it does, tansu answers the member's next join with the
same empty assignment (measured: generation stays 0 while the topics have partitions). Only leaving the group and
joining anew (``unsubscribe`` then ``subscribe``, aiokafka's public API) gets the partitions.

So while the member holds nothing, now and then (``every`` seconds, doubling up to ``at_most`` while it stays empty)
the watch asks the broker whether every subscribed topic exists with partitions, and if so joins again. A member that
holds nothing legitimately (more members than partitions) costs the group a rebalance that often at most: harmless,
a batch cut by it is read again and the inbox drops what was handled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from pingan_shared.logs import get_logger

log = get_logger(__name__)


class EmptyAssignmentWatch:
    def __init__(self, topics: Collection[str], *, every: float = 10.0, at_most: float = 300.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._topics = frozenset(topics)
        self._every = every
        self._at_most = at_most
        self._now = now
        self._wait = every
        self._empty_since: float | None = None

    async def check(self, consumer: AIOKafkaConsumer) -> bool:
        """Call between fetches; True if it made the member join again."""
        if consumer.assignment():
            self._empty_since, self._wait = None, self._every
            return False
        now = self._now()
        if self._empty_since is None:
            self._empty_since = now
        if now - self._empty_since < self._wait:
            return False
        self._empty_since = now  # the next look (or the next join) after the longer wait
        self._wait = min(self._wait * 2, self._at_most)
        try:
            existing = await consumer.topics()  # asks the broker; the consumer's own metadata may be minutes old
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("could not read the broker's topics; looking again later", error=repr(exc))
            return False
        missing = self._topics - existing
        if missing:
            log.info("no partition assigned; waiting for the topics", missing=sorted(missing))
            return False
        log.warning("no partition assigned while every subscribed topic exists; joining the group again",
                    topics=sorted(self._topics))
        consumer.unsubscribe()  # leaves the group: the broker forgets this member's empty assignment
        consumer.subscribe(topics=sorted(self._topics))
        return True
