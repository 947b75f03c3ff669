"""Tonight's live coverage after the embedded broker restarted with an empty memory — its changelogs and its inputs
gone — equals the record again without a route being published again: patrol's relay records the loss and
publishes its kept rows again, and the live view is rebuilt from the record (stream.py, record.seed). The routes here
were published longer ago than the relay's republish window, so only the record can bring them back; and a patrol
started after the loss (a new stream app: empty changelogs) rebuilds its view the same way.

Uses its own embedded broker (it is restarted here), whatever the session's broker is."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pingan_shared.settings import PlatformSettings
from pingan_stack.embedded import EmbeddedKafka
from pingan_stack.harness import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS
from pingan_stack.test_tokens import session_jwks
from pingan_stack.testing import eventually

from .test_live_coverage import (
    NOW,
    live_of,
    outbox_drained,
    patrol,
    post_scans,
    publish_route,
    round_not_started,
    route_figures,
    until_live_equals_record,
)

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow


async def test_live_coverage_equals_the_record_after_the_broker_lost_everything(
    own_broker: EmbeddedKafka, topic_prefix: str, database_url: str,
) -> None:
    platform = PlatformSettings(pingan_env="test", pingan_auth_jwks=session_jwks(),
                                kafka_bootstrap_servers=own_broker.bootstrap_servers, kafka_topic_prefix=topic_prefix,
                                kafka_topic_partitions=2, kafka_session_timeout_ms=SESSION_TIMEOUT_MS,
                                kafka_heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS)
    tonight = NOW - timedelta(hours=1)
    async with patrol(database_url, platform) as (client, service):
        await publish_route(service, "R-1", 1, "塘下镇", ["CP-1", "CP-2", "CP-3"])
        await publish_route(service, "R-2", 1, "安阳街道", ["CP-4", "CP-5"])
        await round_not_started(service, "round-1", "R-2", tonight)
        await post_scans(client, "一队", [(f"a-{i}", f"队员{i % 2}", f"CP-{1 + i % 3}", tonight + timedelta(seconds=i))
                                         for i in range(12)])
        before = await until_live_equals_record(client, service)
        assert route_figures(before, "R-1")["checkpoints_covered"] == 3
        await outbox_drained(service)
        # the routes were published two days ago: outside the relay's window, never published again
        async with service.runtime.connection() as conn:
            await conn.execute("UPDATE outbox SET sent_at = now() - interval '48 hours' WHERE event_type = $1",
                               "patrol.route-published")

        own_broker.stop()
        own_broker.start()  # same address, empty memory: topics, changelogs and offsets gone

        async def loss_recorded() -> bool:
            async with service.runtime.connection() as conn:
                return bool(await conn.fetchval("SELECT count(*) FROM broker_losses"))

        await eventually(loss_recorded, timeout=30, what="patrol's relay to find the loss")
        await post_scans(client, "二队", [("b-1", "李四", "CP-4", tonight), ("b-2", "李四", "CP-1", tonight)])
        live = live_of(service)

        async def rebuilt_from_the_record() -> bool:
            return live.record.loss > 0

        await eventually(rebuilt_from_the_record, timeout=30, what="the live view to take the record's state")
        after = await until_live_equals_record(client, service)
        assert route_figures(after, "R-2") | {"checkpoints_covered": 1, "rounds_late": 1} == route_figures(after, "R-2")
        assert route_figures(after, "R-1")["active_patrollers"] == 3

    # patrol itself restarted too (a new stream app: its changelogs are the new broker's, its routes outside them)
    async with patrol(database_url, platform) as (client, service):
        await post_scans(client, "三队", [("c-1", "王五", "CP-5", tonight)])
        again = await until_live_equals_record(client, service)
        assert {r["route_id"] for r in again["routes"]} == {"R-1", "R-2"}
        assert route_figures(again, "R-2")["checkpoints_covered"] == 2
