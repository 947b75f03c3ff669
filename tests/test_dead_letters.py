"""Poison on a live stream: roster dead-letters what it cannot parse or apply, keeps counting the rest,
and an operator reads the dead letters, with their reasons, through `pingan deadletters`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import SAMPLE_TIME, eventually, running_service, sample_factory, sample_scan_event
from roster.bootstrap import bootstrap
from roster.settings import RosterSettings


def pingan(platform: PlatformSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": platform.kafka_bootstrap_servers,
           "KAFKA_TOPIC_PREFIX": platform.kafka_topic_prefix}
    return subprocess.run([sys.executable, "-m", "pingan_stack", *args], capture_output=True, text=True,
                          timeout=60, env=env)


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
