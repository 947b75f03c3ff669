"""A service starts and takes writes with its database up and its broker down: readiness is about what
intake needs (database, migrations, workers); the broker's state is reported beside it. Once a broker
answers at the configured address, topics, producer and consumers come up and the outbox drains."""

# patrol's live-coverage stream app (faust) is off in these tests: they are about intake, the outbox and
# readiness while the broker is away. A faust app stopped while its broker is gone can leave its consumer thread
# retrying and its stop pending in this process, which then hangs the session's event loop at close (seen once).

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pingan_shared.auth import Role
from pingan_shared.events.catalog import TOPIC_PATROL_SCANS
from pingan_shared.settings import PlatformSettings
from pingan_stack.embedded import EmbeddedKafka, free_port
from pingan_stack.harness import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS
from pingan_stack.testing import bearer, eventually, read_topic, running_service, scrape

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow


@pytest.fixture
def broker_not_yet_there(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    """A broker on a chosen port, not started: nothing listens there until the test starts it."""
    broker = EmbeddedKafka(port=free_port(), log_path=tmp_path / "broker.log")
    yield broker
    broker.stop()


async def test_a_service_starts_ready_and_accepts_writes_while_the_broker_is_down(
    broker_not_yet_there: EmbeddedKafka, topic_prefix: str, database_factory: Callable[[], Awaitable[str]]
) -> None:
    from patrol.bootstrap import bootstrap as patrol_bootstrap
    from patrol.live.settings import LiveCoverageSettings
    from patrol.settings import PatrolSettings
    from roster.bootstrap import bootstrap as roster_bootstrap
    from roster.settings import RosterSettings

    platform = PlatformSettings(pingan_env="test", kafka_bootstrap_servers=broker_not_yet_there.bootstrap_servers,
                                kafka_topic_prefix=topic_prefix, kafka_topic_partitions=3,
                                kafka_session_timeout_ms=SESSION_TIMEOUT_MS,
                                kafka_heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS)
    patrol_service = patrol_bootstrap(platform=platform,
                                      settings=PatrolSettings(database_url=await database_factory()),
                                      live=LiveCoverageSettings(enabled=False))
    roster_service = roster_bootstrap(platform=platform,
                                      settings=RosterSettings(database_url=await database_factory()))
    scan = {"scan_id": "s-1", "member_id": "张三", "team_id": "一队", "checkpoint_id": "CP-1",
            "device_time": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}

    async with AsyncExitStack() as stack:
        patrol = await stack.enter_async_context(running_service(patrol_service))
        roster = await stack.enter_async_context(running_service(roster_service))

        ready = await patrol.get("/ready")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert (checks["database"], checks["migrations"], checks["workers"]) == ("ok", "ok", "ok")
        assert checks["broker"].startswith("unreachable since "), checks
        assert (await roster.get("/ready")).status_code == 200
        assert "pingan_broker_up 0.0" in await scrape(patrol_service)

        registered = await patrol.post("/v1/checkpoints", json={"id": "CP-1", "tag": "t1", "name": "路口"},
                                       headers=bearer(Role.ORGANISER))
        assert registered.status_code == 201, registered.text
        accepted = await patrol.post("/v1/scans", json=scan, headers=bearer(Role.PATROL_DEVICE, team="一队"))
        assert accepted.status_code == 201, accepted.text
        unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
        assert await patrol_service.runtime.pool.fetchval(unsent) == 1

        broker_not_yet_there.start()  # the broker comes up at the configured address

        async def published() -> bool:
            return await patrol_service.runtime.pool.fetchval(unsent) == 0

        await eventually(published, timeout=90, interval=0.5, what="the outbox to drain once the broker is up")
        records = await read_topic(broker_not_yet_there.bootstrap_servers, platform.topic(TOPIC_PATROL_SCANS),
                                   expected=1)
        assert b"s-1" in records[0].value  # type: ignore[attr-defined]

        async def counted_by_roster() -> bool:
            response = await roster.get("/v1/attendance", headers=bearer(Role.SUPERVISOR),
                                        params={"team_id": "一队"})
            return bool(response.json()["total_scans"] == 1)

        await eventually(counted_by_roster, timeout=90, interval=0.5, what="roster's consumer to start and count")

        async def broker_reported_ok() -> bool:
            return bool((await patrol.get("/ready")).json()["checks"]["broker"] == "ok")

        await eventually(broker_reported_ok, timeout=30, what="/ready to report the broker ok")
        assert "pingan_broker_up 1.0" in await scrape(patrol_service)


def _backlog_gauge(metrics_text: str) -> float | None:
    for line in metrics_text.splitlines():
        if line.startswith("pingan_outbox_backlog "):
            return float(line.split()[1])
    return None


async def test_the_backlog_gauge_counts_the_writes_waiting_for_a_broker_that_never_answered(
    broker_not_yet_there: EmbeddedKafka, topic_prefix: str, database_url: str
) -> None:
    # The relay used to be built only once the producer had started: through an outage that began before
    # the service did, writes piled up in the outbox while pingan_outbox_backlog stayed 0.
    from patrol.bootstrap import bootstrap as patrol_bootstrap
    from patrol.live.settings import LiveCoverageSettings
    from patrol.settings import PatrolSettings

    platform = PlatformSettings(pingan_env="test", kafka_bootstrap_servers=broker_not_yet_there.bootstrap_servers,
                                kafka_topic_prefix=topic_prefix, kafka_topic_partitions=3)
    service = patrol_bootstrap(platform=platform, settings=PatrolSettings(database_url=database_url),
                               live=LiveCoverageSettings(enabled=False))
    async with running_service(service) as patrol:
        registered = await patrol.post("/v1/checkpoints", json={"id": "CP-1", "tag": "t1", "name": "路口"},
                                       headers=bearer(Role.ORGANISER))
        assert registered.status_code == 201, registered.text
        for n in range(3):
            scan = {"scan_id": f"s-{n}", "member_id": "张三", "team_id": "一队", "checkpoint_id": "CP-1",
                    "device_time": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}
            accepted = await patrol.post("/v1/scans", json=scan, headers=bearer(Role.PATROL_DEVICE, team="一队"))
            assert accepted.status_code == 201, accepted.text
        unsent = await service.runtime.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL")
        assert unsent >= 3  # nothing can leave: no broker ever answered
        assert not service.runtime.broker.ok

        async def gauge_is_the_backlog() -> float | None:
            gauge = _backlog_gauge(await scrape(service))
            return gauge if gauge == unsent else None

        await eventually(gauge_is_the_backlog, timeout=30, interval=0.5,
                         what=f"pingan_outbox_backlog to report the {unsent} unsent rows")


async def test_a_broker_refusing_to_create_the_topics_is_reported_as_refusing_and_retried(
    kafka_bootstrap_servers: str, topic_prefix: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # KAFKA_REPLICATION_FACTOR=3 against a single broker: Kafka answers CreateTopics with error 38 for each
    # topic. It looked like "broker unreachable" forever while /ready was 200 and nothing was ever published.
    # The embedded broker (tansu) creates topics of any replication factor, so its answer is replaced with
    # the one Kafka gives; every other request (metadata, the topic listing) goes to the real broker.
    from types import SimpleNamespace

    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from structlog.testing import capture_logs

    from patrol.bootstrap import bootstrap as patrol_bootstrap
    from patrol.live.settings import LiveCoverageSettings
    from patrol.settings import PatrolSettings

    real_create_topics = AIOKafkaAdminClient.create_topics
    brokers = 1

    async def create_topics(self: AIOKafkaAdminClient, new_topics: list[NewTopic], *args: object,
                            **kwargs: object) -> object:
        if any(t.replication_factor > brokers for t in new_topics):
            return SimpleNamespace(topic_errors=[
                (t.name, 38, f"Replication factor: {t.replication_factor} larger than available brokers: {brokers}.")
                for t in new_topics])
        return await real_create_topics(self, new_topics, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(AIOKafkaAdminClient, "create_topics", create_topics)
    platform = PlatformSettings(pingan_env="test", kafka_bootstrap_servers=kafka_bootstrap_servers,
                                kafka_topic_prefix=topic_prefix, kafka_topic_partitions=3,
                                kafka_replication_factor=3)
    service = patrol_bootstrap(platform=platform, settings=PatrolSettings(database_url=database_url),
                               live=LiveCoverageSettings(enabled=False))
    with capture_logs() as logs:
        async with running_service(service) as patrol:
            ready = await patrol.get("/ready")
            assert ready.status_code == 200, ready.text  # intake goes on: writes wait in the outbox
            broker = ready.json()["checks"]["broker"]
            assert broker.startswith("refusing: "), broker
            assert "error code 38" in broker and "larger than available brokers" in broker, broker
            assert "pingan_broker_up 0.0" in await scrape(service)
            refusals = [e for e in logs if e.get("step") == "topics" and e["log_level"] == "error"]
            assert refusals, logs

            brokers = 3  # the operator adds brokers: the next attempt succeeds, the service comes up

            async def broker_ok() -> bool:
                return bool((await patrol.get("/ready")).json()["checks"]["broker"] == "ok")

            await eventually(broker_ok, timeout=60, interval=0.5, what="the topics created on a later attempt")
