"""The operator's platform dead letters over the real alerts service (the other three unreachable on purpose): poison
sent to a topic alerts consumes is dead-lettered by alerts and listed on the console's page for alerts — paged by the
service's cursor, exported as CSV, escaped, in English too — through alerts' /v1/operations/dead-letters, never a
topic; a service that cannot answer is said so under the picker; nobody but an admin opens it."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

from pingan_shared.events.catalog import ALERT_SIGNAL, CATALOG
from pingan_shared.messaging.kafka import build_producer
from pingan_shared.settings import PlatformSettings
from pingan_stack.testing import eventually

from .alerts_stage import TANGXIA, Stage, stage_fixture  # noqa: F401

PAGE = "/admin/dead-letters/platform"
POISON = [f"poison {n} <script>alert({n})</script>".encode() for n in range(51)]  # one page of 50, and one more


async def test_poison_dead_lettered_by_alerts_is_listed_paged_and_exported(
    stage: Stage, platform_settings: PlatformSettings,
) -> None:
    topic = platform_settings.topic(CATALOG.topics_of(ALERT_SIGNAL)[0])  # a topic alerts' consumer reads
    producer = build_producer(platform_settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:  # one key: one partition, in this order, and their dead letters likewise
        for value in POISON:
            await producer.send(topic, value=value, key=b"grid")
        await producer.flush()
    finally:
        await producer.stop()

    async def all_dead_lettered() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await stage.call("GET", "/v1/operations/dead-letters", stage.admin,
                                                        params={"limit": 100}))["items"]
        return items if len(items) == len(POISON) else []

    await eventually(all_dead_lettered, what="alerts dead-lettered all the poison")
    letters = await all_dead_lettered()

    admin = await stage.console.signed_in("root.ops", "admin")
    picked = await admin.get(PAGE, params={"service": "alerts"})
    assert picked.status_code == 303 and picked.headers["location"] == f"{PAGE}/alerts"
    assert (await admin.get(PAGE)).headers["location"] == f"{PAGE}/patrol", "none picked: the first service"

    first = await admin.get(f"{PAGE}/alerts")
    assert first.status_code == 200, first.text[:2000]
    assert "平台死信" in first.text and '<option value="alerts" selected>' in first.text
    assert first.text.count("unparseable envelope</td>") == 50
    assert html.escape("poison 0 <script>alert(0)</script>") in first.text and "<script>alert(" not in first.text
    assert f"{letters[0]['partition']}:{letters[0]['offset']}" in first.text
    assert letters[0]["consumer_group"] in first.text and topic in first.text
    assert "poison 50 " not in first.text
    [next_url] = re.findall(r'<a href="([^"]+)" rel="next">', first.text)
    assert html.unescape(next_url) == f"{PAGE}/alerts?after={letters[49]['partition']}%3A{letters[49]['offset']}"

    second = await admin.get(html.unescape(next_url))
    assert second.text.count("unparseable envelope</td>") == 1 and html.escape("poison 50 <script>") in second.text
    assert 'rel="next"' not in second.text

    exported = await admin.get(f"{PAGE}/alerts", params={"format": "csv"})
    assert exported.status_code == 200 and "text/csv" in exported.headers["content-type"]
    header, *rows = csv.reader(io.StringIO(exported.text.lstrip("\ufeff")))
    assert header[:3] == ["时间 When", "位置 Position", "消费组 Consumer"] and len(rows) == len(POISON)
    assert [row[-1] for row in rows] == [value.decode() for value in POISON]
    assert {row[6] for row in rows} == {"unparseable envelope"}

    admin.client.cookies.set("lang", "en")
    english = await admin.get(f"{PAGE}/alerts")
    assert "Platform dead letters" in english.text and "Value (start)" in english.text

    # the delivery dead letters and the operations overview lead here
    for beside in ("/admin/dead-letters", "/admin/operations"):
        assert f'href="{PAGE}"' in (await admin.get(beside)).text, beside


async def test_a_service_that_cannot_answer_is_said_so_and_only_admins_open_it(stage: Stage) -> None:
    admin = await stage.console.signed_in("root.ops", "admin")
    down = await admin.get(f"{PAGE}/patrol")  # patrol is at a closed port in this stage
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert 'role="alert"' in down.text and 'id="service-picker"' in down.text, "another service can be picked"
    empty = await admin.get(f"{PAGE}/alerts")
    assert empty.status_code == 200 and "暂无数据" in empty.text, "alerts has none yet"
    assert (await admin.get(f"{PAGE}/nosuch")).status_code in (400, 404, 422)

    supervisor = await stage.console.signed_in("zhou.sup", "supervisor", address="192.0.2.40", scope=TANGXIA)
    for path in (PAGE, f"{PAGE}/alerts", f"{PAGE}/alerts?format=csv"):
        assert (await supervisor.get(path)).status_code == 403, path
