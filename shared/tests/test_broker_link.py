"""The broker's status as /ready and pingan_broker_up report it; readiness gated only by its required checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Gauge

from pingan_shared.broker_link import BrokerStatus
from pingan_shared.clock import FixedClock
from pingan_shared.readiness import Readiness

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


REGISTRY = CollectorRegistry()
GAUGE = Gauge("pingan_broker_up", "test", registry=REGISTRY)


def _up() -> float | None:
    return REGISTRY.get_sample_value("pingan_broker_up")


def test_an_outage_is_reported_from_its_first_failure_until_the_broker_answers() -> None:
    wall = FixedClock(T0)
    status = BrokerStatus(GAUGE, wall=wall)
    assert status.describe().startswith("connecting") and _up() == 0
    status.unreachable(ConnectionRefusedError("refused"))
    wall.advance(timedelta(minutes=3))
    status.unreachable(TimeoutError())
    assert status.describe() == "unreachable since 2026-11-22T12:00:00+00:00 (TimeoutError)"
    status.reachable()
    assert status.describe() == "ok" and _up() == 1
    status.unreachable(ConnectionRefusedError("refused"))  # a new outage starts now
    assert status.describe().startswith("unreachable since 2026-11-22T12:03:00+00:00")
    assert _up() == 0


def test_readiness_is_decided_by_the_required_checks_only() -> None:
    away = Readiness(checks={"database": "ok", "workers": "ok"}, reported={"broker": "unreachable since …"})
    assert away.ready
    assert away.body() == {"status": "ready", "required": ["database", "workers"],
                           "checks": {"database": "ok", "workers": "ok", "broker": "unreachable since …"}}
    no_database = Readiness(checks={"database": "unreachable: OSError", "workers": "ok"}, reported={"broker": "ok"})
    assert not no_database.ready and no_database.body()["status"] == "not ready"


async def test_an_error_answer_of_a_reachable_broker_is_reported_as_a_refusal_not_an_outage() -> None:
    # A broker that answers "replication factor larger than available brokers" (or "not authorised") is up:
    # calling it unreachable sent operators after the network while nothing was ever going to be published.
    from aiokafka.errors import InvalidReplicationFactorError, KafkaConnectionError
    from structlog.testing import capture_logs

    from pingan_shared.broker_link import until_reachable

    status = BrokerStatus(GAUGE, wall=FixedClock(T0))
    failures = [KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 1)]"),
                InvalidReplicationFactorError("Replication factor: 3 larger than available brokers: 1.")]
    seen: list[str] = []

    async def attempt() -> str:
        seen.append(status.describe())
        if failures:
            raise failures.pop(0)
        return "started"

    with capture_logs() as logs:
        assert await until_reachable("topics", attempt, status, on_failure=lambda: None) == "started"
    assert seen[1].startswith("unreachable since 2026-11-22T12:00:00+00:00 (KafkaConnectionError"), seen
    assert seen[2].startswith("refusing: InvalidReplicationFactorError"), seen
    assert "larger than available brokers" in seen[2]
    assert [entry["log_level"] for entry in logs] == ["warning", "error"], logs
    assert status.describe() == "ok" and _up() == 1
