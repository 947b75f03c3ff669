"""aiokafka producer and topic administration.

Why aiokafka directly rather than faust agents: the reliability rules need offsets committed only
after the inbox transaction commits, and one partition's events handled strictly in order.
faust-streaming commits offsets from its own tracking (with known issues past in-flight messages
when agent concurrency > 1); a plain aiokafka consumer gives that control in a few lines.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pingan_shared.logs import get_logger

log = get_logger(__name__)

_TOPIC_ALREADY_EXISTS = 36


def build_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
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
