"""The rule for events of one key that arrive out of order.

Kafka keeps a partition's order, yet a key's events can still arrive out of order: a producer batch that
expired is re-sent after a later one succeeded, or the relay re-publishes after a crash. Every event the
outbox writes therefore carries its key's sequence number (``Envelope.sequence``: 1, 2, 3 … in the order
the writing transactions committed).

What a sequence can be compared with: the counters live in the producing service's own database
(``outbox_key_sequence``), one per key string, whatever the topic. So

* sequences compare only between events of one producing service (``Envelope.producer``): two services
  writing the same key count independently, and their numbers say nothing about each other's order;
* one service's events of one key share one counter across all the topics it writes them to, so the
  sequences seen on one topic may skip numbers (taken by the key's events on another topic).

The rule below therefore assumes that one service produces an aggregate's transitions (an alert's signals
come from the source that owns its dedup key). Between the events of two producers the sequence gives no
order at all: such a handler needs its own rule (at least a "highest applied" per producer).

**The rule for a state-machine handler** (alerts, inspection, anything whose transitions overwrite state):
keep, next to the aggregate's state, the highest sequence applied to it, and ignore a transition whose
sequence is not above it. The newest transition wins whatever the arrival order: a ``resolve`` that
overtook its ``trigger`` is applied when it comes, and the late ``trigger`` is then stale and ignored,
rather than re-opening what was resolved. A handler that only accumulates (counting scans) needs no rule:
the inbox already drops redeliveries, and every event counts once in whatever order.

An unsequenced event (``sequence is None``: written before sequences existed, or made outside an outbox)
cannot be placed and is applied as it comes, as it always was; it leaves the recorded sequence as it was.
"""

from __future__ import annotations

from pingan_shared.events.envelope import Envelope


def should_apply(last_applied: int | None, envelope: Envelope) -> bool:
    """True when ``envelope`` is newer than the aggregate's highest applied sequence (``None``: nothing
    sequenced applied yet); False for a stale or already applied transition, which the handler ignores."""
    if envelope.sequence is None or last_applied is None:
        return True
    return envelope.sequence > last_applied


def highest_applied(last_applied: int | None, envelope: Envelope) -> int | None:
    """What the handler records after applying ``envelope``: the highest sequence seen so far."""
    if envelope.sequence is None:
        return last_applied
    return envelope.sequence if last_applied is None else max(last_applied, envelope.sequence)
