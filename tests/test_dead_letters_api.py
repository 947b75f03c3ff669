"""A service's platform dead letters over HTTP (roster; every service mounts the same shared router): poison sent to
a topic roster consumes is dead-lettered onto its own ``deadletter.roster`` and listed to an admin at
``GET /v1/operations/dead-letters`` — each with the consumer, the original's place, key and type, the error and the
start of the value, a few KB at most — paged across the topic's partitions; refused to anyone else; and answered
with a clear 503, not a hang, when the broker cannot be read. The same reader serves ``pingan deadletters``
(tests/test_dead_letters.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from aiokafka.partitioner import murmur2

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SCAN_ACCEPTED
from pingan_shared.events.envelope import Envelope
from pingan_shared.http.operations import DEAD_LETTER_READ_SECONDS
from pingan_shared.messaging.dead_letter_reader import DeadLetterReadError, read_dead_letter_page
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.embedded import free_port
from pingan_stack.testing import SAMPLE_TIME, bearer, eventually, running_service, sample_factory, sample_scan_event
from roster.bootstrap import bootstrap
from roster.settings import RosterSettings

ADMIN = bearer(Role.ADMIN, "运维", issued_at=SAMPLE_TIME)
ORGANISER = bearer(Role.ORGANISER, "平安办", issued_at=SAMPLE_TIME)
PATH = "/v1/operations/dead-letters"
BIG = bytes(range(256)) * 800  # 200 KiB that are not UTF-8: dead-lettered whole (base64), listed as its start
ITEM_MAX_BYTES = 5 * 1024


def partition_of(key: str, partitions: int) -> int:
    """Where the producers' default partitioner puts ``key`` (dead letters keep their original's key)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def build(platform: PlatformSettings, database_url: str) -> Service:
    return bootstrap(platform=platform, settings=RosterSettings(database_url=database_url),
                     clock=FixedClock(SAMPLE_TIME))


@pytest.fixture
async def roster(database_url: str, platform_settings: PlatformSettings) -> AsyncIterator[tuple[Service,
                                                                                                 httpx.AsyncClient]]:
    service = build(platform_settings, database_url)
    async with running_service(service) as client:
        yield service, client


async def _page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await client.get(PATH, params=params, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


async def test_poison_on_a_consumed_topic_is_listed_to_an_admin_page_by_page(
    roster: tuple[Service, httpx.AsyncClient], platform_settings: PlatformSettings,
) -> None:
    service, client = roster
    partitions = platform_settings.kafka_topic_partitions
    team, other = "一队", "三队"
    assert partition_of(team, partitions) != partition_of(other, partitions), "keys chosen to span partitions"
    factory = sample_factory(platform_settings.kafka_topic_prefix)
    scans, _ = sample_scan_event(factory, team, 1)
    wrong_payload = Envelope(  # a well-formed envelope whose payload breaks the v1 contract
        event_id=uuid.uuid4(), type=SCAN_ACCEPTED, schema_version=1, occurred_at=SAMPLE_TIME, producer="rogue",
        key=team, correlation_id=uuid.uuid4(), payload={"scan_id": "x", "team_id": team},
    )
    deadletters = service.runtime.deadletter_topic
    junk_partition = next(p for p in range(partitions) if p not in {partition_of(k, partitions) for k in (team, other)})
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:
        for key, value in ((team, b"{not an event"), (team, wrong_payload.to_bytes()), (other, BIG)):
            await (await producer.send(scans, value=value, key=key.encode()))
        # a record on the dead-letter topic that is no dead letter (a misrouted producer): listed as such
        await (await producer.send(deadletters, value=b"junk \x00 bytes", key=b"x", partition=junk_partition))
    finally:
        await producer.stop()

    async def all_four() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await _page(client))["items"]
        return items if len(items) == 4 else []

    await eventually(all_four, what="three dead letters and the junk listed")
    page = await _page(client)
    assert page["next_after"] is None
    items = page["items"]
    assert [(i["partition"], i["offset"]) for i in items] == sorted((i["partition"], i["offset"]) for i in items)
    assert {i["topic"] for i in items} == {deadletters}
    by_error: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_error.setdefault(item["error"], []).append(item)
        assert len(json.dumps(item, ensure_ascii=False).encode()) < ITEM_MAX_BYTES, item

    unparseable, big = sorted(by_error["unparseable envelope"], key=lambda i: len(i["preview"]))
    assert unparseable["preview"] == "{not an event" and unparseable["source_topic"] == scans
    assert unparseable["consumer_group"].endswith("roster.scans") and unparseable["source_key"] == team
    assert unparseable["source_event_id"] is None and unparseable["source_offset"] == 0
    assert unparseable["reason"].startswith("unparseable envelope: ") and unparseable["occurred_at"]
    assert unparseable["partition"] == partition_of(team, partitions)
    assert big["preview"].startswith("base64:AAECAwQF") and "truncated" in big["preview"]
    assert big["partition"] == partition_of(other, partitions) and big["source_key"] == other
    [breach] = by_error["ValidationError"]
    assert breach["source_event_id"] == str(wrong_payload.event_id) and breach["source_event_type"] == SCAN_ACCEPTED
    assert "member_id" in breach["reason"] and breach["source_offset"] == 1
    [junk] = by_error["unreadable dead letter"]
    assert junk["partition"] == junk_partition and junk["consumer_group"] is None and junk["occurred_at"] is None
    assert junk["preview"] == "base64:" + "anVuayAAIGJ5dGVz"  # NUL: kept as base64, as in a dead letter

    # one at a time, across the partitions: the same records in the same order, then an empty last page
    walked, after = [], None
    while True:
        one = await _page(client, limit=1, **({"after": after} if after else {}))
        if not one["items"]:
            assert one["next_after"] is None
            break
        walked += one["items"]
        after = one["next_after"]
        assert after == f"{one['items'][0]['partition']}:{one['items'][0]['offset']}"
    assert walked == items
    two = await _page(client, limit=2, after=f"{items[0]['partition']}:{items[0]['offset']}")
    assert two["items"] == items[1:3] and two["next_after"] == f"{items[2]['partition']}:{items[2]['offset']}"
    beyond = await _page(client, after=f"{partitions + 5}:0")
    assert beyond == {"items": [], "next_after": None}


async def test_a_page_that_ends_inside_a_batch_goes_on_after_it(
    roster: tuple[Service, httpx.AsyncClient], platform_settings: PlatformSettings,
) -> None:
    """The embedded broker reports the end of a multi-record batch as its base offset + 1, so a page ending at a
    batch's first record must not take that end's word that nothing follows."""
    service, client = roster
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:  # sent together: one batch of three
        sent = [await producer.send(service.runtime.deadletter_topic, value=f"junk {n}".encode(), partition=0)
                for n in range(3)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    walked, after = [], None
    while True:
        one = await _page(client, limit=1, **({"after": after} if after else {}))
        if not one["items"]:
            break
        walked += [(item["offset"], item["preview"]) for item in one["items"]]
        after = one["next_after"]
    assert walked == [(0, "junk 0"), (1, "junk 1"), (2, "junk 2")]
    assert await _page(client, after="0:999") == {"items": [], "next_after": None}, "an after no page gave"


async def test_only_an_admin_reads_them_and_the_openapi_says_so(roster: tuple[Service, httpx.AsyncClient]) -> None:
    _, client = roster
    assert (await client.get(PATH, headers=ORGANISER)).status_code == 403
    assert (await client.get(PATH)).status_code == 401
    for bad in ("7", "a:1", "1:-1", "1:" + "9" * 19, "12345:1"):
        refused = await client.get(PATH, params={"after": bad}, headers=ADMIN)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["errors"][0]["field"] == "query.after"
    assert (await client.get(PATH, params={"limit": 501}, headers=ADMIN)).status_code == 422
    assert await _page(client) == {"items": [], "next_after": None}, "a fresh service has none"

    operation = (await client.get("/openapi.json")).json()["paths"][PATH]["get"]
    assert operation["security"] == [{"bearer": ["admin"]}]
    assert set(operation["responses"]) == {"200", "401", "403", "422", "503"}
    unavailable = operation["responses"]["503"]
    assert "broker" in unavailable["description"] and "Retry-After" in unavailable["headers"]


async def test_a_broker_that_is_not_there_is_a_503_not_a_hang(database_url: str,
                                                              platform_settings: PlatformSettings) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    service = build(platform_settings.model_copy(update={"kafka_bootstrap_servers": nowhere}), database_url)
    async with running_service(service) as client:  # serves at once: a refusing broker is not waited for
        async with asyncio.timeout(DEAD_LETTER_READ_SECONDS + 10):  # guards against a hang; no speed is asserted
            answer = await client.get(PATH, headers=ADMIN)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    body = answer.json()
    assert body["errors"] == [] and "暂时无法读取消息队列中的死信" in body["detail"] and nowhere in body["detail"]


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung broker, or one behind a dropping firewall."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"127.0.0.1:{listener.getsockname()[1]}"


async def test_a_broker_that_never_answers_is_given_up_on_within_the_timeout(silent_broker: str) -> None:
    """What the route does on a silent broker (a service cannot even start against one within a test's patience):
    the reader gives up after its timeout, on its own thread, with the loop free meanwhile."""
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    clock = asyncio.create_task(ticking())
    try:
        async with asyncio.timeout(10):  # guards against a hang; no speed is asserted
            with pytest.raises(DeadLetterReadError, match=f"no answer from Kafka at {silent_broker} within 1 s"):
                await read_dead_letter_page(silent_broker, "deadletter.roster", after=None, limit=10, timeout=1)
    finally:
        clock.cancel()
    assert ticks > 5, "the service's loop went on while the broker was waited for"
