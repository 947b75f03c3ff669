"""Committing a consumer group's offsets only to the broker that still knows the group.

A broker that restarted with an empty memory (the embedded tansu broker) knows no group, yet it takes an offset
commit from a member it has never seen (checked: the commit of a member id from before the restart is stored). A
consumer that handled a batch fetched before the restart (or fetched, at its old position, from the new log before
it noticed the restart) would so commit an offset of the old log into the new one: after its rejoin the group would
start there and skip what the new log holds below it — the events the relays publish again after the loss
(``broker_loss``), and new ones.

So the commit is refused when the member joined again since its batch was fetched: ``membership`` is read right
after ``getmany`` and the commit compares it with the coordinator's now. aiokafka rejoins in its own background task,
so a batch fetched from the old log and handled for longer than the rejoin would otherwise commit under the new
member id and generation, which the restarted broker knows and accepts. (A batch across an ordinary rebalance is
left uncommitted too: read again, a no-op in the inbox.)

And the commit proves that the group still holds this member: a heartbeat, then the commit, on the same
connection to the group's coordinator. A broker that restarted cannot answer on a connection made before its
restart, and a new one (``aiokafka`` reconnects) does not know the member, so the heartbeat fails and nothing is
committed. The member then rejoins (aiokafka's own heartbeat finds the same), the group has no offsets on the new
broker, and ``auto_offset_reset="earliest"`` reads every partition from its start: what was handled already is a
no-op in the inbox. A commit left out is always safe for the same reason.

aiokafka has no such commit, so this one speaks the protocol through aiokafka's own objects (the coordinator's
member id and generation, the client's connection to the coordinator): private attributes, pinned by a fast test
(``shared/tests/test_broker_loss_window.py``) and the tests of a broker restart (``test_broker_loss.py``), which fail
if a release moves them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.client import ConnectionGroup
from aiokafka.errors import for_code
from aiokafka.protocol.commit import OffsetCommitRequest
from aiokafka.protocol.group import HeartbeatRequest


class CommitRefused(RuntimeError):
    """Nothing was committed: the member joined again since the batch was fetched, the coordinator is unknown or
    unreachable, or it no longer knows this member."""


Membership = tuple[str, int]  # (member id, generation)


def membership(consumer: AIOKafkaConsumer) -> Membership:
    """The member id and generation ``consumer`` holds now: read right after a fetch, what its commit must hold."""
    coordinator = consumer._coordinator
    return coordinator.member_id, coordinator.generation


async def commit_known_member(consumer: AIOKafkaConsumer, offsets: Mapping[TopicPartition, int], *,
                              fetched_as: Membership) -> None:
    """Commit ``offsets`` for ``consumer``'s group if the member is still the one that fetched them (``fetched_as``,
    from ``membership`` after the fetch) and, on the same connection just before, its coordinator took this member's
    heartbeat; else raise ``CommitRefused`` (the caller carries on: the offsets are committed later or the records
    read again)."""
    coordinator = consumer._coordinator
    client = consumer._client
    group, generation, member = coordinator.group_id, coordinator.generation, coordinator.member_id
    if (member, generation) != fetched_as:
        raise CommitRefused(f"the member joined again since the batch was fetched ({fetched_as} → "
                            f"{(member, generation)})")
    node = coordinator.coordinator_id
    if node is None:
        raise CommitRefused("no group coordinator known")
    conn = await client._get_conn(node, group=ConnectionGroup.COORDINATION)
    if conn is None:
        raise CommitRefused("the group coordinator is not reachable")
    heartbeat = await conn.send(HeartbeatRequest(group, generation, member))
    if heartbeat.error_code:
        refusal = for_code(heartbeat.error_code).__name__
        raise CommitRefused(f"the coordinator refused this member's heartbeat: {refusal}")
    by_topic: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for tp, offset in offsets.items():
        by_topic[tp.topic].append((tp.partition, offset, ""))
    response = await conn.send(OffsetCommitRequest(group, generation, member,
                                                   OffsetCommitRequest.DEFAULT_RETENTION_TIME, list(by_topic.items())))
    for topic, partitions in response.topics:
        for partition, error_code in partitions:
            if error_code:
                raise CommitRefused(f"{topic}/{partition}: {for_code(error_code).__name__}")
