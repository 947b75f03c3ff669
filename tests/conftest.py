from __future__ import annotations

from collections.abc import Iterator

import pytest

from pingan_stack.harness import ProcessCluster


@pytest.fixture
def cluster(kafka_bootstrap_servers: str, topic_prefix: str) -> Iterator[ProcessCluster]:
    """Services as real processes on this test's topic prefix; all stopped at the end."""
    cluster = ProcessCluster(kafka_bootstrap_servers, topic_prefix)
    try:
        yield cluster
    finally:
        cluster.stop_all()
