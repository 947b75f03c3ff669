"""Tests' topics go when the tests end.

Each xdist worker has one broker, and every test (and every service harness in it) works under a topic prefix of
its own. Every Kafka client's start fetches the metadata of every topic on the broker, so a broker that kept every
earlier test's topics made each start dearer as the run went on: 35 ms of CPU at 1,000 topics against 1 ms at none,
and the suite starts thousands of clients.
"""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


async def delete_topics(bootstrap_servers: str, prefix: str) -> None:
    """Delete the topics whose names start with ``prefix``; a broker a fault test left down is let be (its
    memory storage went with it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5_000)
    try:
        await admin.start()
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    except (KafkaError, OSError, TimeoutError):
        pass
    finally:
        await admin.close()
