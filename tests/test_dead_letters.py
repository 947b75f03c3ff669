"""Poison on a live stream: roster dead-letters what it cannot parse or apply, keeps counting the rest,
and an operator reads the dead letters, with their reasons, through `pingan deadletters` — for one service
or all of them at once, and with a clear answer when the broker is not there."""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SCAN_ACCEPTED, deadletter_topic
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.kafka import build_producer, ensure_topics
from pingan_shared.settings import PlatformSettings
from pingan_stack.embedded import free_port
from pingan_stack.testing import (
    SAMPLE_TIME,
    eventually,
    kafka_env,
    run_pingan,
    running_service,
    sample_factory,
    sample_scan_event,
)
from pingan_stack.topology import all_topics
from roster.bootstrap import bootstrap
from roster.settings import RosterSettings

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow


def pingan(platform: PlatformSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_pingan(*args, env=kafka_env(platform))


async def test_poison_is_dead_lettered_counted_around_and_shown_to_the_operator(
    platform_settings: PlatformSettings, database_url: str
) -> None:
    service = bootstrap(platform=platform_settings, settings=RosterSettings(database_url=database_url),
                        clock=FixedClock(SAMPLE_TIME))
    factory = sample_factory(platform_settings.kafka_topic_prefix)
    topic, good = sample_scan_event(factory, "一队", 1)
    _, also_good = sample_scan_event(factory, "一队", 2)
    wrong_payload = Envelope(  # a well-formed envelope whose payload breaks the v1 contract
        event_id=uuid.uuid4(), type=SCAN_ACCEPTED, schema_version=1, occurred_at=SAMPLE_TIME, producer="rogue",
        key="一队", correlation_id=uuid.uuid4(), payload={"scan_id": "x", "team_id": "一队"},
    )
    stream = [good.to_bytes(), b"{not an event", wrong_payload.to_bytes(), also_good.to_bytes()]
    # no client creates a topic by naming it (pingan_shared.messaging.kafka): made here, before the service starts
    await ensure_topics(platform_settings.kafka_bootstrap_servers, [topic],
                        partitions=platform_settings.kafka_topic_partitions, replication_factor=1)
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:
        for value in stream:  # one key: one partition, in this order
            await (await producer.send(topic, value=value, key="一队".encode()))
    finally:
        await producer.stop()

    async with running_service(service):
        async def counted() -> int:
            async with service.runtime.connection() as conn:
                return int(await conn.fetchval("SELECT coalesce(sum(scan_count), 0) FROM attendance"))

        async def both_good_counted() -> bool:
            return await counted() == 2

        await eventually(both_good_counted, what="the two good events counted around the poison")

        async def two_dead_letters_published() -> bool:
            async with service.runtime.connection() as conn:
                return await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE event_type = 'platform.dead-lettered' AND sent_at IS NOT NULL"
                ) == 2

        await eventually(two_dead_letters_published, what="two dead letters published")

    shown = pingan(platform_settings, "deadletters", "--service", "roster")
    assert shown.returncode == 0, shown.stderr
    assert "roster: 2 dead letter(s)" in shown.stdout
    assert "unparseable envelope" in shown.stdout
    assert "member_id" in shown.stdout and "Field required" in shown.stdout  # the contract breach, named

    as_json = pingan(platform_settings, "deadletters", "--service", "roster", "--json")
    letters = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [d["dead_letter"]["source_offset"] for d in letters] == [1, 2]
    assert letters[1]["dead_letter"]["source_event_id"] == str(wrong_payload.event_id)
    assert letters[0]["dead_letter"]["raw_value"] == "{not an event"

    absent = pingan(platform_settings, "deadletters", "--service", "alerts")
    assert "no dead-letter topic" in absent.stdout
    wrong = pingan(platform_settings, "deadletters", "--service", "rosta")
    assert wrong.returncode == 2 and "unknown service rosta" in wrong.stderr


async def test_all_services_at_once_on_a_fresh_stack(platform_settings: PlatformSettings) -> None:
    """Without --service every dead-letter topic is read, the empty ones of a fresh stack included.

    It used to hang in the consumer's stop (a reassignment per topic races aiokafka's fetcher, which
    swallows the cancellation, aiokafka#983) and to report the topics after the first as empty (after
    assign(), the consumer's metadata only knows the assigned topic)."""
    prefix = platform_settings.kafka_topic_prefix
    await ensure_topics(platform_settings.kafka_bootstrap_servers, all_topics(prefix),
                        partitions=platform_settings.kafka_topic_partitions, replication_factor=1)
    letters = {"patrol": 1, "roster": 3}  # inspection and alerts stay empty, as on a fresh `make up`
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:
        for service, count in letters.items():
            for n in range(count):
                await (await producer.send(prefix + deadletter_topic(service), value=f"junk {n}".encode(),
                                           key=f"k{n}".encode()))
    finally:
        await producer.stop()

    shown = pingan(platform_settings, "deadletters")
    assert shown.returncode == 0, shown.stderr
    for service, count in {"patrol": 1, "roster": 3, "inspection": 0, "alerts": 0}.items():
        assert f"{service}: {count} dead letter(s) in {prefix}deadletter.{service}" in shown.stdout, shown.stdout
    as_json = pingan(platform_settings, "deadletters", "--json")
    assert as_json.returncode == 0, as_json.stderr
    services = [json.loads(line)["service"] for line in as_json.stdout.splitlines()]
    assert services == ["patrol", "roster", "roster", "roster"]


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung broker, or one behind a dropping firewall."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def test_a_broker_that_never_answers_is_given_up_on_with_a_clear_message(silent_broker: str) -> None:
    # The default deadline, not a test-only one; the subprocess timeout only catches a command that hangs.
    done = run_pingan("deadletters", env={"KAFKA_BOOTSTRAP_SERVERS": silent_broker}, timeout=30)
    assert done.returncode == 1, done.stdout
    assert f"no answer from Kafka at {silent_broker} within 10 s (KAFKA_BOOTSTRAP_SERVERS)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_broker_that_is_not_there_is_named() -> None:
    address = f"127.0.0.1:{free_port()}"
    done = run_pingan("deadletters", "--timeout", "3", env={"KAFKA_BOOTSTRAP_SERVERS": address}, timeout=30)
    assert done.returncode == 1, done.stdout
    assert f"cannot reach Kafka at {address}" in done.stderr and "KAFKA_BOOTSTRAP_SERVERS" in done.stderr
    assert "Traceback" not in done.stderr


async def test_an_event_that_is_not_a_dead_letter_is_reported_as_a_line(platform_settings: PlatformSettings) -> None:
    """A dead-letter topic may hold a valid event of another type (a misrouted producer, a hand-made test):
    it is one line naming its type and offset, and the dead letters around it are still shown."""
    prefix = platform_settings.kafka_topic_prefix
    topic = prefix + deadletter_topic("roster")
    await ensure_topics(platform_settings.kafka_bootstrap_servers, [topic], partitions=1, replication_factor=1)
    _, scan = sample_scan_event(sample_factory(prefix), "一队", 1)
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:  # junk, then a well-formed scan event, then junk again: offsets 0, 1, 2
        for value in (b"junk before", scan.to_bytes(), b"junk after"):
            await (await producer.send(topic, value=value, key=b"k"))
    finally:
        await producer.stop()

    shown = pingan(platform_settings, "deadletters", "--service", "roster")
    assert shown.returncode == 0, shown.stderr
    assert "Traceback" not in shown.stderr and "AssertionError" not in shown.stderr
    assert f"roster: 3 dead letter(s) in {topic}" in shown.stdout, shown.stdout
    assert f"not a dead letter: {SCAN_ACCEPTED} v{scan.schema_version} at offset 1" in shown.stdout, shown.stdout
    assert shown.stdout.count("unreadable dead letter") == 2
    as_json = pingan(platform_settings, "deadletters", "--service", "roster", "--json")
    assert as_json.returncode == 0, as_json.stderr
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(row["offset"], row["dead_letter"]) for row in rows if "not a dead letter" in row["problem"]] == [
        (1, None)]
