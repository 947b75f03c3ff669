"""aiokafka producer and topic administration.

Why aiokafka directly rather than faust agents: the reliability rules need offsets committed only
after the inbox transaction commits, and one partition's events handled strictly in order.
faust-streaming commits offsets from its own tracking (with known issues past in-flight messages
when agent concurrency > 1); a plain aiokafka consumer gives that control in a few lines.

No client of ours creates a topic by asking for it (``refuse_topic_auto_creation``): aiokafka's metadata requests ask
the broker to create any topic they name, and the embedded tansu broker then makes it with its own default of 4
partitions. After a restart of that broker (every topic gone) a consumer's or the stream app's first metadata request
would so make ``patrol.scans`` with 4 partitions before ``pingan up`` or the relay created it with the configured
count: keys would move to other partitions, and the stream app, whose changelogs have the configured count, stops
with faust's PartitionsMismatch. Topics are created by ``ensure_topics`` only (``pingan up``, each service at start,
the relay when it finds the broker lost them, the stream app for its own).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol import metadata

from pingan_shared.logs import get_logger

log = get_logger(__name__)

_TOPIC_ALREADY_EXISTS = 36


def refuse_topic_auto_creation() -> None:
    """Make every aiokafka metadata request of this process ask for no topic creation, unless it says otherwise
    (aiokafka has no setting for it; its request builder defaults to asking). Idempotent; called before our clients
    are made (the producer, the inbox consumers, the stream app through ``ensure_topics``)."""
    request = metadata.MetadataRequest
    if getattr(request, "_pingan_no_auto_creation", False):
        return
    original = request.__init__

    def init(self: Any, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = None) -> None:
        original(self, topics, False if allow_auto_topic_creation is None else allow_auto_topic_creation)

    request.__init__ = init
    request._pingan_no_auto_creation = True


def build_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    refuse_topic_auto_creation()
    # acks=all: a publish counts only once every in-sync replica has it. No idempotent producer:
    # the embedded broker does not implement InitProducerId, and correctness comes from the
    # outbox + inbox anyway (a republished event is a no-op for consumers).
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=15_000,
    )


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], *, partitions: int, replication_factor: int,
    compacted: Collection[str] = (),
) -> None:
    """Create missing topics, those named in ``compacted`` with ``cleanup.policy=compact`` (each key's last event
    kept); existing ones are left as they are."""
    refuse_topic_auto_creation()
    wanted = sorted(set(topics))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="pingan-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return
        response = await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                      topic_configs={"cleanup.policy": "compact"} if name in compacted else {})
             for name in missing]
        )
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"could not create topic {name}: error code {code} {topic_error[-1]}")
        log.info("topics created", topics=missing, partitions=partitions)
    finally:
        await admin.close()
